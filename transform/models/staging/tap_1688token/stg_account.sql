-- The account the tap's token belongs to, as the newest run saw it: `quota` is the balance
-- left, `used_quota` what it spent, in quota units.
with loaded as (
  {{ typed_source('tap_1688token', 'account', [
      ('id', dbt.type_bigint(), 'user_id'),
      ('username', dbt.type_string()),
      ('display_name', dbt.type_string()),
      ('role', dbt.type_int()),
      ('status', dbt.type_int()),
      ('user_group', dbt.type_string()),
      ('quota', dbt.type_bigint()),
      ('used_quota', dbt.type_bigint()),
      ('request_count', dbt.type_bigint()),
      ('aff_count', dbt.type_bigint()),
      ('aff_quota', dbt.type_bigint()),
      ('aff_history_quota', dbt.type_bigint()),
      ('inviter_id', dbt.type_bigint()),
      ('snapshot_at', dbt.type_timestamp()),
  ]) }}
)
{{ latest_snapshot('loaded', ['user_id']) }}
