-- One row per calendar day and time zone: the gateway's own usage total for the day.
{{ typed_source('tap_1688token', 'daily_stats', daily_stats_columns()) }}
