-- Top-up, admin and bonus logs whose amount could not be read from their text are left out
-- of mart_balance_ledger's sums (and counted in its unparsed_logs): a warning naming them,
-- so a new text form is noticed, not silently dropped.
{{ config(severity='warn') }}
{% set failing %}
select log_key, kind, created_at, user_id, content
from {{ ref('int_balance_events') }}
where parse_status = 'unparsed'
{% endset %}
{{ report_failures('balance: amount not read', failing) }}
