-- How the gateway turns quota into money, from its newest snapshot: `quota_per_unit` quota
-- per USD, and the currency its pages show with that currency's units per USD. No row
-- without a gateway snapshot (no cost then: the marts leave it null rather than guess).
with newest as (
  select *
  from {{ ref('stg_gateway') }}
  where quota_per_unit > 0
  order by snapshot_at desc, base_url
  limit 1
),

currency as (
  select
    quota_per_unit,
    usd_exchange_rate,
    coalesce(
      upper(quota_display_type),
      case when display_in_currency = false then 'TOKENS' else 'USD' end
    ) as currency,
    cast({{ json_text('extra', 'custom_currency_exchange_rate') }} as double precision)
      as custom_currency_exchange_rate
  from newest
)

select
  quota_per_unit,
  currency,
  -- Display units per USD, as New API's logger.LogQuota writes amounts: CNY at the gateway's
  -- USD exchange rate, a custom currency at its own rate, TOKENS as quota itself.
  case currency
    when 'CNY' then usd_exchange_rate
    when 'CUSTOM' then coalesce(custom_currency_exchange_rate, 1)
    when 'TOKENS' then quota_per_unit
    else 1
  end as units_per_usd,
  usd_exchange_rate
from currency
