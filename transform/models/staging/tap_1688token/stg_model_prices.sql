-- The gateway's price list per model: ratios (quota_type 0) or a price per call in USD
-- (quota_type 1, `model_price`).
with loaded as (
  {{ typed_source('tap_1688token', 'model_prices', [
      ('model_name', dbt.type_string()),
      ('quota_type', dbt.type_int()),
      ('model_ratio', 'double precision'),
      ('completion_ratio', 'double precision'),
      ('model_price', 'double precision'),
      ('owner_by', dbt.type_string()),
      ('enable_groups', 'json'),
      ('group_ratios', 'json'),
      ('snapshot_at', dbt.type_timestamp()),
  ]) }}
)
{{ latest_snapshot('loaded', ['model_name']) }}
