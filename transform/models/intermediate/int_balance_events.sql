-- Every log that moves a balance, one row each, with its effect in quota (`amount`, signed:
-- usage negative) and `parse_status`, so nothing is dropped unseen:
--   parsed        the amount was read from `content` (top-ups, admin changes, bonuses)
--   quota column  the amount is the log's `quota` (usage, refunds; a fork's top-up)
--   no amount     a text without an amount (an admin disabling a user): amount 0
--   unparsed      a text that should carry an amount but no known form was found: amount
--                 null, counted in mart_balance_ledger.unparsed_logs
-- Kinds: topup, admin_change, bonus (registration and invitee gifts), affiliate_reward (the
-- inviter's gift, which New API credits to aff_quota, not to the balance), refund, usage.
with zone as (
  select timezone from {{ ref('int_timezone') }}
),

rates as (
  select
    coalesce(g.quota_per_unit, {{ var('default_quota_per_unit') }}) as quota_per_unit,
    g.usd_exchange_rate,
    case when g.quota_per_unit is null then 'default' else 'gateway' end as quota_per_unit_source
  from (select 1 as one) as always
  left join {{ ref('int_gateway') }} as g on 1 = 1
),

-- Self scope: the logs are the account's own (a server that leaves user_id out still means it).
the_account as (
  select max(user_id) as user_id
  from {{ ref('stg_account') }}
  having count(*) = 1
),

written as (
  select 'topup' as kind, log_key, created_at, user_id, content, quota, other
  from {{ ref('stg_topup_logs') }}
  union all
  select 'admin_change', log_key, created_at, user_id, content, quota, other
  from {{ ref('stg_manage_logs') }}
  union all
  select
    case when content like '邀请用户赠送%' then 'affiliate_reward' else 'bonus' end,
    log_key, created_at, user_id, content, quota, other
  from {{ ref('stg_system_logs') }}
),

parsed as (
  select
    written.*,
    {{ regex_group('content', amount_pattern(), 1) }} as sign,
    {{ regex_group('content', amount_pattern(), 2) }} as number,
    {{ regex_group('content', amount_pattern(), 3) }} as points,
    {{ regex_group('content', amount_change_pattern(), 1) }} as from_sign,
    {{ regex_group('content', amount_change_pattern(), 2) }} as from_number,
    {{ regex_group('content', amount_change_pattern(), 3) }} as from_points,
    {{ regex_group('content', amount_change_pattern(), 4) }} as to_sign,
    {{ regex_group('content', amount_change_pattern(), 5) }} as to_number,
    {{ regex_group('content', amount_change_pattern(), 6) }} as to_points
  from written
),

converted as (
  select
    parsed.*,
    rates.quota_per_unit_source,
    {{ amount_quota('sign', 'number', 'points', 'rates.quota_per_unit', 'rates.usd_exchange_rate') }}
      as first_quota,
    {{ amount_quota('from_sign', 'from_number', 'from_points', 'rates.quota_per_unit', 'rates.usd_exchange_rate') }}
      as from_quota,
    {{ amount_quota('to_sign', 'to_number', 'to_points', 'rates.quota_per_unit', 'rates.usd_exchange_rate') }}
      as to_quota
  from parsed
  cross join rates
),

read_back as (
  select
    converted.*,
    case
      -- controller/user.go: "管理员增加用户额度 A", "…减少… A", "…从 A 修改为 B", "…覆盖…从 A 为 B"
      when kind = 'admin_change' then
        case
          when to_number is not null then to_quota - from_quota
          when content like '%减少%' then -first_quota
          when content like '%增加%' then first_quota
        end
      else first_quota
    end as parsed_amount,
    content like '%额度%' or content like '%額度%'
      or {{ json_text('other', 'op') }} like '%quota%' as mentions_quota
  from converted
),

labelled as (
  select
    kind, log_key, created_at, user_id, content, quota_per_unit_source,
    case
      when parsed_amount is not null then 'parsed'
      when kind = 'topup' and quota > 0 then 'quota column'
      when kind = 'topup' or mentions_quota then 'unparsed'
      else 'no amount'
    end as parse_status,
    case
      when parsed_amount is not null then parsed_amount
      when kind = 'topup' and quota > 0 then quota
      when kind = 'topup' or mentions_quota then null
      else 0
    end as amount
  from read_back
),

events as (
  select kind, log_key, created_at, user_id, content, amount, parse_status, quota_per_unit_source
  from labelled
  union all
  select 'refund', log_key, created_at, user_id, content, quota, 'quota column', 'none'
  from {{ ref('stg_refund_logs') }}
  union all
  select 'usage', log_key, created_at, user_id, content, -quota, 'quota column', 'none'
  from {{ ref('stg_usage_logs') }}
)

select
  events.log_key,
  events.kind,
  events.created_at,
  {{ local_day('events.created_at', 'zone.timezone') }} as day,
  coalesce(nullif(events.user_id, 0), the_account.user_id) as user_id,
  cast(events.amount as {{ dbt.type_bigint() }}) as amount,
  events.parse_status,
  events.quota_per_unit_source,
  events.content
from events
cross join zone
left join the_account on 1 = 1
