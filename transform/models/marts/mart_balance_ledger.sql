-- Where each user's balance went, per day: what came in (top-ups, admin changes, bonuses,
-- refunds), what usage took, the running balance the logs alone add up to, and on each
-- user's last day the balance the gateway reports (account.quota, or users.quota in scope
-- site). Their difference, `implied_opening_balance`, is what the account held before its
-- oldest log; a value that moves between runs means a log is missing or a change the logs
-- do not record. Amounts in quota units. Logs whose amount could not be read are counted in
-- `unparsed_logs` (int_balance_events says which) and left out of the sums.
with events as (
  select * from {{ ref('int_balance_events') }}
),

daily as (
  select
    user_id,
    day,
    sum(case when kind = 'topup' then amount else 0 end) as topups,
    sum(case when kind = 'admin_change' then amount else 0 end) as admin_changes,
    sum(case when kind = 'bonus' then amount else 0 end) as bonuses,
    sum(case when kind = 'usage' then -amount else 0 end) as usage,
    sum(case when kind = 'refund' then amount else 0 end) as refunds,
    -- New API credits an inviter's reward to aff_quota, not to the balance: shown, not summed.
    sum(case when kind = 'affiliate_reward' then amount else 0 end) as affiliate_rewards,
    sum(case when parse_status = 'unparsed' then 1 else 0 end) as unparsed_logs
  from events
  group by user_id, day
),

netted as (
  select
    daily.*,
    topups + admin_changes + bonuses + refunds - usage as net
  from daily
),

running as (
  select
    netted.*,
    sum(net) over (
      partition by user_id order by day rows between unbounded preceding and current row
    ) as running_balance,
    day = max(day) over (partition by user_id) as is_last_day
  from netted
),

-- The balance the gateway reports: every user's in scope site, the account's own otherwise.
snapshots as (
  select user_id, quota from {{ ref('stg_users') }}
  union all
  select user_id, quota from {{ ref('stg_account') }} as account
  where not exists (
    select 1 from {{ ref('stg_users') }} as site_user where site_user.user_id = account.user_id
  )
)

select
  running.user_id,
  running.day,
  cast(running.topups as {{ dbt.type_bigint() }}) as topups,
  cast(running.admin_changes as {{ dbt.type_bigint() }}) as admin_changes,
  cast(running.bonuses as {{ dbt.type_bigint() }}) as bonuses,
  cast(running.usage as {{ dbt.type_bigint() }}) as usage,
  cast(running.refunds as {{ dbt.type_bigint() }}) as refunds,
  cast(running.net as {{ dbt.type_bigint() }}) as net,
  cast(running.running_balance as {{ dbt.type_bigint() }}) as running_balance,
  case when running.is_last_day then snapshots.quota end as snapshot_balance,
  case
    when running.is_last_day then cast(snapshots.quota - running.running_balance as {{ dbt.type_bigint() }})
  end as implied_opening_balance,
  cast(running.affiliate_rewards as {{ dbt.type_bigint() }}) as affiliate_rewards,
  cast(running.unparsed_logs as {{ dbt.type_bigint() }}) as unparsed_logs
from running
left join snapshots on snapshots.user_id = running.user_id
