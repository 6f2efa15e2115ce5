{#- For singular tests: the test's query, after writing its first `limit` rows to dbt's log,
    so a failing build names what failed (which log, which day) instead of only a count.
    dbt compiles a test just before it runs, after the models it reads are built. -#}
{% macro report_failures(label, query, limit=20) %}
  {%- if execute -%}
    {%- set found = run_query("select * from (" ~ query ~ ") as failures limit " ~ limit) -%}
    {%- for row in found.rows -%}
      {%- set fields = [] -%}
      {%- for name in found.column_names -%}
        {%- do fields.append(name ~ "=" ~ row[name]) -%}
      {%- endfor -%}
      {{ log(label ~ ": " ~ fields | join(", "), info=true) }}
    {%- endfor -%}
  {%- endif -%}
  {{ query }}
{% endmacro %}
