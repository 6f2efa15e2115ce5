-- Every checkable usage log was charged what New API's formula gives for the ratios it
-- logged (mart_billing_check). Each failing row names the log.
{% set failing %}
select log_key, created_at, model_name, token_name, quota, expected_quota, reason
from {{ ref('mart_billing_check') }}
where status = 'mismatch'
{% endset %}
{{ report_failures('billing: mismatch', failing) }}
