-- One row per error log (log_key), typed; the columns every log stream shares.
{{ typed_source('tap_1688token', 'error_logs', log_columns()) }}
