-- One row per manage log (log_key), typed; the columns every log stream shares.
{{ typed_source('tap_1688token', 'manage_logs', log_columns()) }}
