-- On every closed day the usage logs add up to the gateway's own total: a day that differs
-- is a log the warehouse lacks (difference > 0) or holds too many of (< 0), or a day the
-- gateway reported no total for. The last day loaded may still be going on: not checked.
{% set failing %}
select day, timezone, gateway_quota, logs_quota, difference, calls
from {{ ref('mart_reconciliation_daily') }}
where closed and (gateway_quota is null or difference <> 0)
{% endset %}
{{ report_failures('reconciliation: a closed day differs', failing) }}
