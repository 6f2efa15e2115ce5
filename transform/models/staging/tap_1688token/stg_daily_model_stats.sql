-- One row per calendar day, time zone and model (servers that break the day down).
{{ typed_source('tap_1688token', 'daily_model_stats', daily_stats_columns(per_model=true)) }}
