{#- No two rows share the values of `columns` (a composite key; nulls compare equal here).
    Fails with each repeated key and how many rows hold it. -#}
{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as copies
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
