{#- Columns two staging models share, declared once, as fields.py declares them once:
    `users` has every column of `account` (New API's User) and two more; `daily_model_stats`
    has every column of `daily_stats` and the model. -#}
{% macro user_columns() -%}
  {{ return([
      ('id', dbt.type_bigint(), 'user_id'),
      ('username', dbt.type_string()),
      ('display_name', dbt.type_string()),
      ('role', dbt.type_int()),
      ('status', dbt.type_int()),
      ('user_group', dbt.type_string()),
      ('quota', dbt.type_bigint()),
      ('used_quota', dbt.type_bigint()),
      ('request_count', dbt.type_bigint()),
      ('aff_count', dbt.type_bigint()),
      ('aff_quota', dbt.type_bigint()),
      ('aff_history_quota', dbt.type_bigint()),
      ('inviter_id', dbt.type_bigint()),
      ('snapshot_at', dbt.type_timestamp()),
  ]) }}
{%- endmacro %}

{% macro daily_stats_columns(per_model=false) -%}
  {%- set day = [('date', 'date', 'day'), ('timezone', dbt.type_string())] -%}
  {%- set model = [('model_name', dbt.type_string())] if per_model else [] -%}
  {{ return(day + model + [
      ('created_at', dbt.type_timestamp(), 'day_starts_at'),
      ('quota', dbt.type_bigint()),
      ('request_count', dbt.type_bigint()),
      ('prompt_tokens', dbt.type_bigint()),
      ('completion_tokens', dbt.type_bigint()),
      ('total_tokens', dbt.type_bigint()),
  ]) }}
{%- endmacro %}
