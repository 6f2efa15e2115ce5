-- One row per system log (log_key), typed; the columns every log stream shares.
{{ typed_source('tap_1688token', 'system_logs', log_columns()) }}
