-- The gateway's status: `quota_per_unit` is quota per USD (500,000 by default),
-- `quota_display_type` the currency its pages show (USD, CNY, TOKENS or CUSTOM). `extra`
-- keeps the rest of /api/status (e.g. custom_currency_exchange_rate).
with loaded as (
  {{ typed_source('tap_1688token', 'gateway', [
      ('base_url', dbt.type_string()),
      ('system_name', dbt.type_string()),
      ('version', dbt.type_string()),
      ('quota_per_unit', 'double precision'),
      ('quota_display_type', dbt.type_string()),
      ('display_in_currency', dbt.type_boolean()),
      ('usd_exchange_rate', 'double precision'),
      ('price', 'double precision'),
      ('extra', 'json'),
      ('snapshot_at', dbt.type_timestamp()),
  ]) }}
)
{{ latest_snapshot('loaded', ['base_url']) }}
