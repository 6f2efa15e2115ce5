-- Every user of the gateway (scope site only; empty otherwise), as the newest run saw them.
with loaded as (
  {{ typed_source('tap_1688token', 'users', user_columns() + [
      ('created_at', dbt.type_bigint(), 'created_unix'),
      ('last_login_at', dbt.type_bigint(), 'last_login_unix'),
  ]) }}
)
{{ latest_snapshot('loaded', ['user_id']) }}
