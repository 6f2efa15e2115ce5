{#- A source table selected with the columns a staging model expects, each cast to its type
    and renamed: `columns` is a list of (column, type) or (column, type, alias); the type
    'json' means a JSON column (to_json).

    The tap's tables are not all there on every warehouse: a server without an endpoint
    yields no rows for its stream (and a loader may never create the table), `users` and
    `channels` come only with `scope: site`, and a table loaded by an older tap may lack a
    newer column. So a missing table gives no rows and a missing column gives nulls, both
    typed, and the build goes on (the log says which). Every staging model builds; the marts
    handle the empty ones (no gateway snapshot: no cost; no daily_stats: UTC days, nothing
    to reconcile; no users: the account's balance). -#}
{% macro typed_source(source_name, table_name, columns) -%}
  {%- set relation = source(source_name, table_name) -%}
  {%- set found = none -%}
  {%- set present = [] -%}
  {%- if execute -%}
    {%- set found = adapter.get_relation(
          database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
    {%- if found is none -%}
      {{ log("tap_1688token: " ~ relation ~ " does not exist; " ~ this.identifier ~ " is empty", info=true) }}
    {%- else -%}
      {%- for column in adapter.get_columns_in_relation(found) -%}
        {%- do present.append(column.name | lower) -%}
      {%- endfor -%}
      {%- set missing = [] -%}
      {%- for spec in columns if spec[0] | lower not in present -%}
        {%- do missing.append(spec[0]) -%}
      {%- endfor -%}
      {%- if missing -%}
        {{ log("tap_1688token: " ~ relation ~ " lacks " ~ missing | join(", ") ~ " (null in " ~ this.identifier ~ ")", info=true) }}
      {%- endif -%}
    {%- endif -%}
  {%- endif %}
  select
  {%- for spec in columns %}
    {%- set name, type = spec[0], spec[1] %}
    {%- set alias = spec[2] if spec | length > 2 else name %}
    {%- if name | lower not in present %}
    cast(null as {{ type_json() if type == 'json' else type }}) as {{ alias }}
    {%- elif type == 'json' %}
    {{ to_json(adapter.quote(name)) }} as {{ alias }}
    {%- else %}
    cast({{ adapter.quote(name) }} as {{ type }}) as {{ alias }}
    {%- endif %}{{ "," if not loop.last }}
  {%- endfor %}
  {%- if found is none %}
  where 1 = 0
  {%- else %}
  from {{ found }}
  {%- endif %}
{%- endmacro %}

{#- The columns every log stream shares (schemas/*_logs.json), typed, with the renames all
    log staging models make: the server's `id` (New API sends it modulo 1024 on some
    versions, so it is not a key), `type` and `channel`. -#}
{% macro log_columns() -%}
  {{ return([
    ('log_key', dbt.type_string()),
    ('created_at', dbt.type_timestamp()),
    ('id', dbt.type_bigint(), 'server_id'),
    ('type', dbt.type_int(), 'log_type'),
    ('user_id', dbt.type_bigint()),
    ('username', dbt.type_string()),
    ('token_name', dbt.type_string()),
    ('token_id', dbt.type_bigint()),
    ('model_name', dbt.type_string()),
    ('quota', dbt.type_bigint()),
    ('prompt_tokens', dbt.type_bigint()),
    ('completion_tokens', dbt.type_bigint()),
    ('use_time', dbt.type_bigint()),
    ('elapsed_time', dbt.type_bigint()),
    ('is_stream', dbt.type_boolean()),
    ('channel', dbt.type_bigint(), 'channel_id'),
    ('channel_name', dbt.type_string()),
    ('user_group', dbt.type_string()),
    ('ip', dbt.type_string()),
    ('request_id', dbt.type_string()),
    ('content', dbt.type_string()),
    ('other', 'json'),
    ('other_raw', dbt.type_string()),
  ]) }}
{%- endmacro %}
