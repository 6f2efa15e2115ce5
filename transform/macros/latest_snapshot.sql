{#- The rows of `relation` (a CTE name) that no row with the same `key` has a later
    `snapshot_at` than. A snapshot is loaded with upserts on its key, so this is usually every
    row; a loader that appends instead keeps each run's copy, and the newest wins. -#}
{% macro latest_snapshot(relation, key) -%}
  select loaded_row.*
  from {{ relation }} as loaded_row
  where not exists (
    select 1
    from {{ relation }} as newer
    where {% for column in key %}newer.{{ column }} = loaded_row.{{ column }} and {% endfor -%}
      newer.snapshot_at > loaded_row.snapshot_at
  )
{%- endmacro %}
