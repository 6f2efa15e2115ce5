-- The account the tap's token belongs to, as the newest run saw it: `quota` is the balance
-- left, `used_quota` what it spent, in quota units.
with loaded as (
  {{ typed_source('tap_1688token', 'account', user_columns()) }}
)
{{ latest_snapshot('loaded', ['user_id']) }}
