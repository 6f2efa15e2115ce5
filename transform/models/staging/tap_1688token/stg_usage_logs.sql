-- One row per usage log (log_key), typed: the shared log columns and what New API computed
-- the charge from (service/text_quota.go), which the tap copies out of `other`.
{{ typed_source('tap_1688token', 'usage_logs', log_columns() + [
    ('model_ratio', 'double precision'),
    ('group_ratio', 'double precision'),
    ('user_group_ratio', 'double precision'),
    ('completion_ratio', 'double precision'),
    ('model_price', 'double precision'),
    ('cache_tokens', dbt.type_bigint()),
    ('cache_ratio', 'double precision'),
    ('cache_creation_tokens', dbt.type_bigint()),
    ('cache_creation_ratio', 'double precision'),
    ('frt', 'double precision'),
    ('reasoning_effort', dbt.type_string()),
    ('upstream_model_name', dbt.type_string()),
    ('is_model_mapped', dbt.type_boolean()),
    ('request_path', dbt.type_string()),
    ('billing_source', dbt.type_string()),
]) }}
