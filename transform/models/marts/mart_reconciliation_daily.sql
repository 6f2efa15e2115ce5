-- The gateway's own usage total per day (daily_stats) beside the usage logs summed over the
-- same calendar day of the same zone. `difference` = gateway_quota - logs_quota: a positive
-- difference on a closed day is a log the warehouse lacks, a negative one a log it holds
-- twice or the gateway no longer counts. `closed`: days before the last one loaded (the last
-- one may still be going on). Days of every zone daily_stats holds; empty without it.
-- `models_differing`: models whose per-model total (daily_model_stats, where the server
-- gives one) differs from their logs.
with stats as (
  select day, timezone, quota, request_count
  from {{ ref('stg_daily_stats') }}
),

zones as (
  select distinct timezone from stats
),

logs as (
  select
    zones.timezone,
    {{ local_day('logs.created_at', 'zones.timezone') }} as day,
    coalesce(logs.model_name, '') as model_name,
    logs.quota
  from {{ ref('stg_usage_logs') }} as logs
  cross join zones
),

log_days as (
  select timezone, day, sum(quota) as quota, count(*) as calls
  from logs
  group by timezone, day
),

log_models as (
  select timezone, day, model_name, sum(quota) as quota
  from logs
  group by timezone, day, model_name
),

model_differences as (
  select model_stats.timezone, model_stats.day, count(*) as models_differing
  from {{ ref('stg_daily_model_stats') }} as model_stats
  left join log_models
    on log_models.timezone = model_stats.timezone
    and log_models.day = model_stats.day
    and log_models.model_name = model_stats.model_name
  where model_stats.quota <> coalesce(log_models.quota, 0)
  group by model_stats.timezone, model_stats.day
),

days as (
  select
    coalesce(stats.day, log_days.day) as day,
    coalesce(stats.timezone, log_days.timezone) as timezone,
    stats.quota as gateway_quota,
    coalesce(log_days.quota, 0) as logs_quota,
    stats.request_count as gateway_calls,
    coalesce(log_days.calls, 0) as calls
  from stats
  full outer join log_days
    on log_days.timezone = stats.timezone and log_days.day = stats.day
)

select
  days.day,
  days.timezone,
  cast(days.gateway_quota as {{ dbt.type_bigint() }}) as gateway_quota,
  cast(days.logs_quota as {{ dbt.type_bigint() }}) as logs_quota,
  cast(days.gateway_quota - days.logs_quota as {{ dbt.type_bigint() }}) as difference,
  cast(days.calls as {{ dbt.type_bigint() }}) as calls,
  days.day < max(days.day) over (partition by days.timezone) as closed,
  cast(days.gateway_calls as {{ dbt.type_bigint() }}) as gateway_calls,
  cast(coalesce(model_differences.models_differing, 0) as {{ dbt.type_bigint() }})
    as models_differing
from days
left join model_differences
  on model_differences.timezone = days.timezone and model_differences.day = days.day
