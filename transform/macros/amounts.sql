{#- Amounts New API writes into a log's text with logger.LogQuota, by the gateway's display
    type: "＄100.000000 额度" (USD: quota / quota_per_unit), "¥730.000000 额度" (CNY: at
    usd_exchange_rate), "500000 点额度" (TOKENS: quota itself); one-api writes 額度/點額度.
    A custom currency symbol is not recognised: such a log is labelled 'unparsed'. -#}

{#- Groups: 1 the currency sign (may be empty), 2 the number, 3 点 when the unit is quota. -#}
{% macro amount_pattern() -%}
  ([＄$¥￥]?) *([0-9]+(?:[.][0-9]+)?) *(点|點)? *(?:额度|額度)
{%- endmacro %}

{#- "…从 A …为 B": groups 1-3 the first amount, 4-6 the second (an admin setting a quota). -#}
{% macro amount_change_pattern() -%}
  从 *{{ amount_pattern() }}[^0-9]*为 *{{ amount_pattern() }}
{%- endmacro %}

{#- The quota an amount stands for, or null when its unit is unknown: USD times quota per
    USD, CNY through the USD exchange rate, quota points as they are. -#}
{% macro amount_quota(sign, number, points, quota_per_unit, usd_exchange_rate) -%}
  case
    when {{ number }} is null then null
    when {{ points }} is not null then round(cast({{ number }} as decimal(38, 6)))
    when {{ sign }} in ('＄', '$') then
      round(cast({{ number }} as decimal(38, 6)) * cast({{ quota_per_unit }} as decimal(18, 6)))
    when {{ sign }} in ('¥', '￥') and {{ usd_exchange_rate }} > 0 then
      round(
        cast({{ number }} as decimal(38, 6)) * cast({{ quota_per_unit }} as decimal(18, 6))
        / cast({{ usd_exchange_rate }} as decimal(18, 6))
      )
  end
{%- endmacro %}
