-- The account's API keys (never the key itself: the tap does not export it).
with loaded as (
  {{ typed_source('tap_1688token', 'api_keys', [
      ('id', dbt.type_bigint(), 'token_id'),
      ('user_id', dbt.type_bigint()),
      ('name', dbt.type_string(), 'token_name'),
      ('status', dbt.type_int()),
      ('user_group', dbt.type_string()),
      ('created_time', dbt.type_bigint(), 'created_unix'),
      ('accessed_time', dbt.type_bigint(), 'accessed_unix'),
      ('expired_time', dbt.type_bigint(), 'expires_unix'),
      ('remain_quota', dbt.type_bigint()),
      ('unlimited_quota', dbt.type_boolean()),
      ('used_quota', dbt.type_bigint()),
      ('model_limits_enabled', dbt.type_boolean()),
      ('model_limits', dbt.type_string()),
      ('allow_ips', dbt.type_string()),
      ('snapshot_at', dbt.type_timestamp()),
  ]) }}
)
{{ latest_snapshot('loaded', ['token_id']) }}
