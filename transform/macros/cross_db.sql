{#- SQL that DuckDB and PostgreSQL spell differently, dispatched on the adapter. Everything
    else in the project is written once, in SQL both accept. -#}

{#- Capture group `group` of the first match of `pattern` in `text`, or null when it does not
    match (or the group took no part in it). Patterns stay within what RE2 (DuckDB) and
    PostgreSQL's ARE both read alike: no \s or \d (bracket classes instead). -#}
{% macro regex_group(text, pattern, group=1) -%}
  {{ return(adapter.dispatch('regex_group', 'tap_1688token')(text, pattern, group)) }}
{%- endmacro %}

{% macro duckdb__regex_group(text, pattern, group) -%}
  nullif(regexp_extract({{ text }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}

{% macro postgres__regex_group(text, pattern, group) -%}
  (regexp_match({{ text }}, '{{ pattern }}'))[{{ group }}]
{%- endmacro %}

{#- The type of a JSON column here (`other`, `extra`, `group_ratios`). -#}
{% macro type_json() -%}
  {{ return(adapter.dispatch('type_json', 'tap_1688token')()) }}
{%- endmacro %}

{% macro duckdb__type_json() -%} json {%- endmacro %}

{% macro postgres__type_json() -%} jsonb {%- endmacro %}

{#- A loaded JSON column as type_json(), with a JSON null as SQL null (target-postgres stores
    a missing `other` as the JSON value null, target-duckdb as SQL null), and an array
    column (target-postgres makes `enable_groups` a jsonb[]) as one JSON array. -#}
{% macro to_json(column) -%}
  {{ return(adapter.dispatch('to_json', 'tap_1688token')(column)) }}
{%- endmacro %}

{% macro duckdb__to_json(column) -%}
  nullif(cast({{ column }} as json), cast('null' as json))
{%- endmacro %}

{% macro postgres__to_json(column) -%}
  nullif(to_jsonb({{ column }}), 'null'::jsonb)
{%- endmacro %}

{#- A key of a JSON object column as text (null when absent). Both spell it `->>`; DuckDB
    wants the JSON type on the left, which a column loaded as text may not have. -#}
{% macro json_text(column, key) -%}
  {{ return(adapter.dispatch('json_text', 'tap_1688token')(column, key)) }}
{%- endmacro %}

{% macro duckdb__json_text(column, key) -%}
  (cast({{ column }} as json) ->> '{{ key }}')
{%- endmacro %}

{% macro postgres__json_text(column, key) -%}
  (cast({{ column }} as jsonb) ->> '{{ key }}')
{%- endmacro %}

{#- The calendar day in `zone` (an IANA name, as SQL) of `utc_timestamp`: both loaders store
    created_at as a timestamp without zone that holds UTC. -#}
{% macro local_day(utc_timestamp, zone) -%}
  cast(({{ utc_timestamp }} at time zone 'UTC') at time zone {{ zone }} as date)
{%- endmacro %}
