-- One row per calendar day and time zone: the gateway's own usage total for the day.
{{ typed_source('tap_1688token', 'daily_stats', [
    ('date', 'date', 'day'),
    ('timezone', dbt.type_string()),
    ('created_at', dbt.type_timestamp(), 'day_starts_at'),
    ('quota', dbt.type_bigint()),
    ('request_count', dbt.type_bigint()),
    ('prompt_tokens', dbt.type_bigint()),
    ('completion_tokens', dbt.type_bigint()),
    ('total_tokens', dbt.type_bigint()),
]) }}
