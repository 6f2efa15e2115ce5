-- The gateway's own hourly totals: one row per hour and model (and user, in scope site).
{{ typed_source('tap_1688token', 'hourly_usage', [
    ('created_at', dbt.type_timestamp(), 'hour_starts_at'),
    ('model_name', dbt.type_string()),
    ('user_id', dbt.type_bigint()),
    ('username', dbt.type_string()),
    ('count', dbt.type_bigint(), 'calls'),
    ('quota', dbt.type_bigint()),
    ('token_used', dbt.type_bigint()),
]) }}
