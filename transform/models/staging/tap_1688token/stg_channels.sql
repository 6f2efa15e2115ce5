-- Every upstream channel (scope site only; empty otherwise). `balance` is in USD, as the
-- gateway last checked it.
with loaded as (
  {{ typed_source('tap_1688token', 'channels', [
      ('id', dbt.type_bigint(), 'channel_id'),
      ('name', dbt.type_string(), 'channel_name'),
      ('type', dbt.type_int(), 'channel_type'),
      ('status', dbt.type_int()),
      ('user_group', dbt.type_string()),
      ('models', dbt.type_string()),
      ('tag', dbt.type_string()),
      ('priority', dbt.type_bigint()),
      ('weight', dbt.type_bigint()),
      ('base_url', dbt.type_string()),
      ('balance', 'double precision', 'balance_usd'),
      ('balance_updated_time', dbt.type_bigint(), 'balance_updated_unix'),
      ('used_quota', dbt.type_bigint()),
      ('created_time', dbt.type_bigint(), 'created_unix'),
      ('test_time', dbt.type_bigint(), 'test_unix'),
      ('response_time', dbt.type_bigint(), 'response_ms'),
      ('auto_ban', dbt.type_int()),
      ('remark', dbt.type_string()),
      ('snapshot_at', dbt.type_timestamp()),
  ]) }}
)
{{ latest_snapshot('loaded', ['channel_id']) }}
