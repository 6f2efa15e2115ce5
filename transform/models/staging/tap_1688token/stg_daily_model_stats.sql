-- One row per calendar day, time zone and model (servers that break the day down).
{{ typed_source('tap_1688token', 'daily_model_stats', [
    ('date', 'date', 'day'),
    ('timezone', dbt.type_string()),
    ('model_name', dbt.type_string()),
    ('created_at', dbt.type_timestamp(), 'day_starts_at'),
    ('quota', dbt.type_bigint()),
    ('request_count', dbt.type_bigint()),
    ('prompt_tokens', dbt.type_bigint()),
    ('completion_tokens', dbt.type_bigint()),
    ('total_tokens', dbt.type_bigint()),
]) }}
