-- Each usage log's charge recomputed from what the gateway logged beside it (the ratios and
-- the per-call price New API copies into `other`), one row per log. New API
-- (service/text_quota.go, calculateTextQuotaSummary) computes in exact decimals and rounds
-- half away from zero:
--   ratio billing (model_price < 0):
--     round((prompt - cache - cache_creation + cache * cache_ratio
--            + cache_creation * cache_creation_ratio + completion * completion_ratio)
--           * model_ratio * group_ratio), at least 1 when model_ratio * group_ratio <> 0,
--     where Claude-semantics prompts (usage_semantic 'anthropic', or `claude` in older
--     versions) exclude the cache already and nothing is subtracted;
--   per-call pricing (model_price >= 0): round(model_price * quota_per_unit * group_ratio);
--   and 0 when the call reported no tokens at all (New API charges nothing then).
-- The ratios (doubles) become decimals of 9 places, as Go's decimal.NewFromFloat reads them
-- exactly, so the arithmetic below is exact in DuckDB and PostgreSQL alike.
-- status: 'ok' (the charge is the formula's, or a tie such as x.5 rounded down, as some
-- versions and forks round), 'mismatch' (`reason` says by how much), 'unchecked' (`reason`
-- says why: a charge made of more than this formula knows, or no inputs logged).
with zone as (
  select timezone from {{ ref('int_timezone') }}
),

logs as (
  select
    logs.*,
    {{ local_day('logs.created_at', 'zone.timezone') }} as day,
    {{ json_text('logs.other', 'billing_mode') }} as billing_mode,
    {{ json_text('logs.other', 'task_id') }} as task_id,
    {{ json_text('logs.other', 'audio') }} as audio,
    {{ json_text('logs.other', 'ws') }} as ws,
    {{ json_text('logs.other', 'audio_input_seperate_price') }} as audio_input_price,
    {{ json_text('logs.other', 'image') }} as image,
    {{ json_text('logs.other', 'tool_surcharges') }} as tool_surcharges,
    {{ json_text('logs.other', 'web_search') }} as web_search,
    {{ json_text('logs.other', 'file_search') }} as file_search,
    {{ json_text('logs.other', 'image_generation_call') }} as image_generation_call,
    {{ json_text('logs.other', 'cache_creation_tokens_5m') }} as cache_creation_tokens_5m,
    {{ json_text('logs.other', 'cache_creation_tokens_1h') }} as cache_creation_tokens_1h,
    {{ json_text('logs.other', 'usage_semantic') }} as usage_semantic,
    {{ json_text('logs.other', 'claude') }} as claude
  from {{ ref('stg_usage_logs') }} as logs
  cross join zone
),

classified as (
  select
    logs.*,
    gateway.quota_per_unit,
    coalesce(logs.prompt_tokens, 0) + coalesce(logs.completion_tokens, 0) = 0 as no_tokens,
    -- New API logs model_price -1 with ratio billing; a log without one is read the same way.
    coalesce(logs.model_price, -1) >= 0 as per_call,
    case
      when logs.quota is null then 'no quota logged'
      when logs.other is null then 'no other: the gateway logged no charge inputs'
      when logs.billing_mode = 'tiered_expr' then 'tiered billing (a billing expression)'
      when logs.task_id is not null then 'task billing'
      when logs.audio = 'true' or logs.ws = 'true' or logs.audio_input_price = 'true'
        then 'audio or realtime billing'
      when logs.image = 'true' then 'image tokens at their own ratio'
      when logs.tool_surcharges is not null or logs.web_search = 'true'
        or logs.file_search = 'true' or logs.image_generation_call = 'true'
        then 'tool-call surcharge'
      when logs.cache_creation_tokens_5m is not null or logs.cache_creation_tokens_1h is not null
        then 'split cache-write ratios (5m/1h)'
      when logs.billing_source = 'subscription' then 'subscription billing'
      when logs.group_ratio is null then 'no group_ratio in other'
      when coalesce(logs.model_price, -1) >= 0 and gateway.quota_per_unit is null
        then 'per-call price without a gateway snapshot (quota_per_unit)'
      when coalesce(logs.model_price, -1) >= 0 then null
      when logs.model_ratio is null or logs.completion_ratio is null then 'no ratios in other'
      when coalesce(logs.cache_tokens, 0) <> 0 and logs.cache_ratio is null
        then 'cache tokens without cache_ratio'
      when coalesce(logs.cache_creation_tokens, 0) <> 0 and logs.cache_creation_ratio is null
        then 'cache-write tokens without cache_creation_ratio'
    end as unchecked_reason,
    coalesce(logs.usage_semantic = 'anthropic', logs.claude = 'true', false) as claude_semantics
  from logs
  left join {{ ref('int_gateway') }} as gateway on 1 = 1
),

exact as (
  select
    classified.*,
    case
      when unchecked_reason is not null then null
      when per_call then
        cast(model_price as decimal(18, 9)) * cast(quota_per_unit as decimal(18, 9))
        * cast(group_ratio as decimal(18, 9))
      else
        (
          greatest(
            cast(coalesce(prompt_tokens, 0) as decimal(38, 0))
            - case
                when claude_semantics then 0
                else coalesce(cache_tokens, 0) + coalesce(cache_creation_tokens, 0)
              end,
            0
          )
          + cast(coalesce(cache_tokens, 0) as decimal(38, 0))
            * cast(coalesce(cache_ratio, 0) as decimal(18, 9))
          + cast(coalesce(cache_creation_tokens, 0) as decimal(38, 0))
            * cast(coalesce(cache_creation_ratio, 0) as decimal(18, 9))
          + cast(coalesce(completion_tokens, 0) as decimal(38, 0))
            * cast(completion_ratio as decimal(18, 9))
        )
        * cast(model_ratio as decimal(18, 9))
        * cast(group_ratio as decimal(18, 9))
    end as exact_quota
  from classified
),

expected as (
  select
    exact.*,
    case
      when exact_quota is null then null
      -- No tokens reported: New API charges nothing (a per-call task may still be charged).
      when no_tokens and (not per_call or quota = 0) then 0
      when not per_call and model_ratio * group_ratio <> 0 then greatest(round(exact_quota), 1)
      else round(exact_quota)
    end as expected_quota,
    exact_quota - floor(exact_quota) = 0.5 as is_tie
  from exact
)

select
  log_key,
  created_at,
  day,
  model_name,
  token_name,
  quota,
  cast(expected_quota as {{ dbt.type_bigint() }}) as expected_quota,
  case
    when expected_quota is null then 'unchecked'
    when quota = expected_quota then 'ok'
    when is_tie and quota = expected_quota - 1 then 'ok'
    else 'mismatch'
  end as status,
  case
    when expected_quota is null then unchecked_reason
    when quota = expected_quota then null
    when is_tie and quota = expected_quota - 1 then 'a tie (x.5) rounded down'
    else 'charged ' || cast(cast(quota - expected_quota as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }})
      || ' quota against the formula'
  end as reason,
  exact_quota,
  user_id,
  username,
  model_ratio,
  group_ratio,
  completion_ratio,
  model_price
from expected
