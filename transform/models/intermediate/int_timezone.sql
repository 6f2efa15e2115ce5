-- The one time zone whose calendar days every mart's `day` is: the dbt var `timezone` when
-- set, else the zone of the gateway's own daily totals (daily_stats, the tap's
-- stats_timezone; its newest day's zone if it changed), else UTC. One row.
with stats_zone as (
  select timezone
  from {{ ref('stg_daily_stats') }}
  order by day desc, timezone
  limit 1
)

select coalesce(
  {% if var('timezone') %}'{{ var("timezone") }}'{% else %}cast(null as {{ dbt.type_string() }}){% endif %},
  (select timezone from stats_zone),
  'UTC'
) as timezone
