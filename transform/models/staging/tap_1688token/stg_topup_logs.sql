-- One row per topup log (log_key), typed; the columns every log stream shares.
{{ typed_source('tap_1688token', 'topup_logs', log_columns()) }}
