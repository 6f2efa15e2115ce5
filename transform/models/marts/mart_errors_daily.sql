-- Failed calls per day, model and API key (error_logs). `day` as in mart_usage_daily.
with zone as (
  select timezone from {{ ref('int_timezone') }}
),

errors as (
  select
    {{ local_day('logs.created_at', 'zone.timezone') }} as day,
    logs.model_name,
    logs.token_name
  from {{ ref('stg_error_logs') }} as logs
  cross join zone
)

select
  day,
  model_name,
  token_name,
  cast(count(*) as {{ dbt.type_bigint() }}) as errors
from errors
group by day, model_name, token_name
