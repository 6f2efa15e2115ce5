-- What was spent, per day, model, API key and user: calls, tokens, quota, and the cost in
-- the gateway's own currency (quota / quota_per_unit, in the display currency of its newest
-- snapshot; null without one). `day` is a calendar day of int_timezone's zone.
with zone as (
  select timezone from {{ ref('int_timezone') }}
),

usage_logs as (
  select
    {{ local_day('logs.created_at', 'zone.timezone') }} as day,
    logs.model_name,
    logs.token_name,
    logs.user_id,
    logs.username,
    logs.prompt_tokens,
    logs.completion_tokens,
    logs.quota
  from {{ ref('stg_usage_logs') }} as logs
  cross join zone
),

daily as (
  select
    day,
    model_name,
    token_name,
    user_id,
    username,
    count(*) as calls,
    sum(prompt_tokens) as prompt_tokens,
    sum(completion_tokens) as completion_tokens,
    sum(quota) as quota
  from usage_logs
  group by day, model_name, token_name, user_id, username
)

select
  daily.day,
  daily.model_name,
  daily.token_name,
  daily.user_id,
  daily.username,
  cast(daily.calls as {{ dbt.type_bigint() }}) as calls,
  cast(daily.prompt_tokens as {{ dbt.type_bigint() }}) as prompt_tokens,
  cast(daily.completion_tokens as {{ dbt.type_bigint() }}) as completion_tokens,
  cast(daily.quota as {{ dbt.type_bigint() }}) as quota,
  cast(daily.quota as double precision) / gateway.quota_per_unit * gateway.units_per_usd as cost,
  gateway.currency,
  cast(daily.quota as double precision) / gateway.quota_per_unit as cost_usd
from daily
left join {{ ref('int_gateway') }} as gateway on 1 = 1
