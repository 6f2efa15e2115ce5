-- One row per refund log (log_key), typed; the columns every log stream shares.
{{ typed_source('tap_1688token', 'refund_logs', log_columns()) }}
