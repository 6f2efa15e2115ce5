-- The billing check per day (from int_billing_check, like mart_billing_check, so the
-- billing test on that table never holds this one back): logs checked (ok + mismatches), ok,
-- mismatches, unchecked.
select
  day,
  cast(sum(case when status <> 'unchecked' then 1 else 0 end) as {{ dbt.type_bigint() }}) as checked,
  cast(sum(case when status = 'ok' then 1 else 0 end) as {{ dbt.type_bigint() }}) as ok,
  cast(sum(case when status = 'mismatch' then 1 else 0 end) as {{ dbt.type_bigint() }}) as mismatches,
  cast(sum(case when status = 'unchecked' then 1 else 0 end) as {{ dbt.type_bigint() }}) as unchecked
from {{ ref('int_billing_check') }}
group by day
