"""Deterministic, realistic New API log records (the dicts the simulator stores).

``type`` as QuantumNous/new-api model/log.go numbers it: 0 unknown (no filter), 1 top-up,
2 consume, 3 manage, 4 system, 5 error, 6 refund (one-api's model/log.go stops at 4). Manage
and system logs carry their text in ``content`` and quota 0, as model.RecordLog writes them.
"""

# ruff: noqa: RUF001 - strings quote New API's Chinese text verbatim

from __future__ import annotations

import copy
import random
import string
import time
import zlib
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

Log = dict[str, Any]

TYPE_TOPUP, TYPE_CONSUME, TYPE_MANAGE, TYPE_SYSTEM, TYPE_ERROR, TYPE_REFUND = 1, 2, 3, 4, 5, 6
QUOTA_PER_UNIT = 500_000  # New API: 500k quota == $1

DEFAULT_MODELS = (
    "gpt-4o",
    "gpt-4o-mini",
    "claude-sonnet-4-6",
    "deepseek-chat",
    "gemini-2.5-pro",
    "qwen-max",
)
DEFAULT_TOKENS = ("default", "prod-backend", "dev-laptop", "ci-runner")
DEFAULT_TYPE_WEIGHTS: Mapping[int, float] = {2: 0.85, 1: 0.04, 5: 0.08, 6: 0.03}
#: the default mix plus a few manage (3) and system (4) logs. Not the default: the tests' exact
#: figures were drawn from :data:`DEFAULT_TYPE_WEIGHTS`, and a mix is part of the seed.
ALL_TYPE_WEIGHTS: Mapping[int, float] = {**DEFAULT_TYPE_WEIGHTS, 3: 0.006, 4: 0.004}

# Zero values in the field order of New API's model.Log JSON (+ request_id, newer versions).
_ZERO: Log = {
    "id": None,
    "user_id": 1,
    "created_at": 0,
    "type": TYPE_CONSUME,
    "content": "",
    "username": "",
    "token_name": "",
    "model_name": "",
    "quota": 0,
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "use_time": 0,
    "is_stream": False,
    "channel": 0,
    "channel_name": "",
    "token_id": 0,
    "group": "",
    "ip": "",
    "request_id": "",
    "other": None,
}
FIELDS = tuple(_ZERO)

# (model_ratio, completion_ratio); New API ratio 1 == $0.002 per 1K prompt tokens.
_RATIOS = {
    "gpt-4o": (1.25, 4),
    "gpt-4o-mini": (0.075, 4),
    "claude-sonnet-4-6": (1.5, 5),
    "deepseek-chat": (0.135, 4),
    "gemini-2.5-pro": (0.625, 8),
    "qwen-max": (0.8, 4),
}
_CHANNELS = (
    (1, "openai-主力"),
    (2, "azure-eastus"),
    (3, "anthropic-官方"),
    (4, "deepseek-官方"),
    (5, "vertex-gemini"),
    (6, "aliyun-百炼"),
)
_MODEL_CHANNEL = {m: i for i, m in enumerate(DEFAULT_MODELS)}
_GROUPS = (("default", 1), ("default", 1), ("default", 1), ("vip", 0.8))
_IPS = ("203.0.113.7", "203.0.113.42", "198.51.100.23")
_TASK_MODELS = ("sora-2", "kling-v2-1", "suno_music")
_ERRORS = (
    (429, "rate_limit_exceeded", "当前分组上游负载已饱和，请稍后再试"),
    (500, "bad_response_status_code", "bad response status code 500"),
    (503, "get_channel_failed", "当前分组 default 下对于模型 {model} 无可用渠道"),
    (400, "invalid_request", "This model's maximum context length is 128000 tokens."),
    (504, "do_request_failed", "do request failed: context deadline exceeded"),
)
# Relative traffic per hour of day, Asia/Shanghai (UTC+8).
_HOURLY = (
    0.25, 0.12, 0.08, 0.05, 0.05, 0.05, 0.08, 0.15, 0.45, 0.85, 1.0, 0.95,
    0.7, 0.8, 0.95, 1.0, 0.95, 0.85, 0.6, 0.55, 0.6, 0.6, 0.5, 0.35,
)  # fmt: skip
_CN_OFFSET = 8 * 3600
_ALNUM = string.ascii_letters + string.digits
#: who wrote a manage log, in its ``other.admin_info`` (a user's own view drops it)
_ADMIN_INFO = {"admin_id": 1, "admin_username": "root"}


def blank_log(**fields: Any) -> Log:
    """A log with New API's zero values (created_at: now), overridden by ``fields``."""
    return complete_log(fields, int(time.time()))


def complete_log(fields: Mapping[str, Any], now: int) -> Log:
    """A new dict: ``fields`` over the zero values; created_at defaults to ``now``."""
    log = {**_ZERO, "created_at": now, **fields}
    if len(log) != len(_ZERO):
        raise KeyError(f"unknown log fields: {sorted(set(log) - set(_ZERO))}")
    return log


def log_quota(quota: int) -> str:
    """New API's ``logger.LogQuota`` in its default (USD) display mode."""
    return f"＄{quota / QUOTA_PER_UNIT:.6f} 额度"  # a fullwidth dollar sign, as New API writes


def _ratios(model: str) -> tuple[float, int]:
    if model in _RATIOS:
        return _RATIOS[model]
    crc = zlib.crc32(model.encode())
    return round(0.1 + crc % 300 / 100, 2), (1, 2, 3, 4, 5)[crc % 5]


def _channel(model: str) -> tuple[int, str]:
    index = _MODEL_CHANNEL.get(model, zlib.crc32(model.encode()))
    return _CHANNELS[index % len(_CHANNELS)]


def _request_id(rng: random.Random, ts: int) -> str:
    """``common.GetTimeString() + common.GetRandomString(8)`` as New API builds it."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(ts + _CN_OFFSET))
    return f"{stamp}{rng.randrange(10**9)}{''.join(rng.choices(_ALNUM, k=8))}"


def _timestamps(rng: random.Random, n: int, start: int, end: int) -> list[int]:
    """``n`` sorted seconds in [start, end], with a daily rhythm and bursts in one second."""
    out: list[int] = []
    span = end - start + 1
    while len(out) < n:
        ts = start + int(rng.random() * span)
        if rng.random() >= _HOURLY[(ts + _CN_OFFSET) // 3600 % 24]:
            continue
        out.append(ts)
        while len(out) < n and rng.random() < 0.45:  # a burst of calls
            ts = min(end, ts + rng.choice((0, 0, 0, 1, 2, 3)))
            out.append(ts)
    out.sort()
    return out


def _make(
    rng: random.Random,
    kind: int,
    ts: int,
    *,
    models: Sequence[str],
    tokens: Sequence[str],
    base: Log,
    first_token_id: int = 101,
) -> Log:
    log = blank_log(created_at=ts, type=kind, **base)
    if kind == TYPE_TOPUP:
        quota = rng.choice((5, 10, 20, 50, 100)) * QUOTA_PER_UNIT
        if rng.random() < 0.5:
            log["content"] = f"通过兑换码充值 {log_quota(quota)}，兑换码ID {rng.randint(1, 999)}"
        else:
            paid = quota / QUOTA_PER_UNIT * 7.3
            log["content"] = f"使用在线充值成功，充值金额: {log_quota(quota)}，支付金额：{paid:f}"
        return log
    if kind == TYPE_MANAGE:
        # New API's controller/user.go, model.RecordLog / RecordLogWithAdminInfo: quota 0.
        old = rng.randrange(0, 20) * QUOTA_PER_UNIT
        change = rng.randrange(1, 20) * QUOTA_PER_UNIT
        how = rng.choices(("edit", "add", "subtract", "override"), (4, 3, 1, 2))[0]
        if how == "edit":  # UpdateUser, the quota field of the user edit form
            log["content"] = f"管理员将用户额度从 {log_quota(old)}修改为 {log_quota(old + change)}"
            return log
        log["content"] = {  # ManageUser, action add_quota, by mode
            "add": f"管理员增加用户额度 {log_quota(change)}",
            "subtract": f"管理员减少用户额度 {log_quota(change)}",
            "override": f"管理员覆盖用户额度从 {log_quota(old)} 为 {log_quota(change)}",
        }[how]
        log["other"] = {"admin_info": dict(_ADMIN_INFO)}
        return log
    if kind == TYPE_SYSTEM:
        # New API's model/user.go (Insert and the invitation rewards), model.RecordLog: quota 0.
        gift = rng.choice((1, 2, 5)) * QUOTA_PER_UNIT // 2
        reason = rng.choices(("新用户注册赠送", "使用邀请码赠送", "邀请用户赠送"), (1, 1, 3))[0]
        log["content"] = f"{reason} {log_quota(gift)}"
        return log

    token_index = rng.randrange(len(tokens))
    group, group_ratio = rng.choice(_GROUPS)
    model = rng.choice(_TASK_MODELS if kind == TYPE_REFUND else models)
    channel, channel_name = _channel(model)
    log.update(
        token_name=tokens[token_index],
        token_id=first_token_id + token_index,
        model_name=model,
        channel=channel,
        channel_name=channel_name,
        group=group,
        ip=rng.choice(_IPS),
        request_id=_request_id(rng, ts),
    )
    if kind == TYPE_REFUND:
        log["quota"] = rng.choice((20_000, 60_000, 100_000, 250_000))
        log["other"] = {"task_id": f"task_{rng.getrandbits(48):012x}", "reason": "任务执行失败"}
        return log
    log["is_stream"] = rng.random() < 0.7
    if kind == TYPE_ERROR:
        status, code, message = rng.choice(_ERRORS)
        log["content"] = message.format(model=model)
        log["use_time"] = rng.randint(0, 30)
        log["other"] = {
            "error_type": "new_api_error" if status == 503 else "openai_error",
            "error_code": code,
            "status_code": status,
            "channel_id": channel,
            "channel_name": channel_name,
            "admin_info": {"use_channel": [str(channel)]},
        }
        return log

    # kind == TYPE_CONSUME (and any other type: treated like usage)
    model_ratio, completion_ratio = _ratios(model)
    prompt = max(1, int(rng.lognormvariate(7.0, 1.2)))
    completion = max(1, int(rng.lognormvariate(5.5, 1.0)))
    quota = charge(prompt, completion, completion_ratio, model_ratio, group_ratio)
    log.update(
        content=f"模型倍率 {model_ratio:.2f}，分组倍率 {group_ratio:.2f}",
        quota=max(quota, 1),
        prompt_tokens=prompt,
        completion_tokens=completion,
        use_time=1 + int(completion / rng.uniform(30, 120)),
    )
    if rng.random() < 0.95:  # some old rows carry no `other`
        log["other"] = {
            "model_ratio": model_ratio,
            "group_ratio": group_ratio,
            "completion_ratio": completion_ratio,
            "model_price": -1,
            "cache_tokens": 0,
            "cache_ratio": 1,
            "frt": rng.randint(250, 3000) if log["is_stream"] else -1000,
        }
    return log


def charge(
    prompt: int, completion: int, completion_ratio: float, model_ratio: float, group_ratio: float
) -> int:
    """New API's ratio charge (service/text_quota.go): computed in decimals from the ratios as
    logged, rounded half away from zero (decimal's Round(0)); at least 1 is the caller's."""
    exact = (
        (Decimal(prompt) + Decimal(completion) * Decimal(str(completion_ratio)))
        * Decimal(str(model_ratio))
        * Decimal(str(group_ratio))
    )
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def generate_logs(
    n: int,
    *,
    start: int,
    end: int,
    seed: int = 0,
    type_weights: Mapping[int, float] = DEFAULT_TYPE_WEIGHTS,
    duplicate_fraction: float = 0.02,
    models: Sequence[str] = DEFAULT_MODELS,
    tokens: Sequence[str] = DEFAULT_TOKENS,
    user_id: int = 1,
    username: str = "alice",
    first_token_id: int = 101,
) -> list[Log]:
    """``n`` logs with created_at in [start, end], sorted, ids 1..n, deterministic per seed.

    ``round(n * duplicate_fraction)`` logs are exact copies (all fields but id) of the log
    just before them, so they share its second. The user's API keys (``tokens``) have ids
    from ``first_token_id`` on.
    """
    if end < start:
        raise ValueError("end must be >= start")
    rng = random.Random(seed)
    kinds = list(type_weights)
    weights = [type_weights[k] for k in kinds]
    base = {"user_id": user_id, "username": username}
    stamps = _timestamps(rng, n, start, end)
    picked = rng.choices(kinds, weights, k=n)
    logs = [
        _make(rng, kind, ts, models=models, tokens=tokens, base=base, first_token_id=first_token_id)
        for kind, ts in zip(picked, stamps, strict=True)
    ]
    k = min(round(n * duplicate_fraction), max(n - 1, 0))
    for i in sorted(rng.sample(range(1, n), k)):
        logs[i] = copy.deepcopy(logs[i - 1])
    for i, log in enumerate(logs, 1):
        log["id"] = i
    return logs


#: the users of a generated site: (user_id, username); user 1 is the admin in site tests
SITE_USERS: tuple[tuple[int, str], ...] = ((1, "alice"), (2, "bob"), (3, "carol"), (4, "dave"))


def site_logs(
    n: int,
    *,
    start: int,
    end: int,
    seed: int = 0,
    users: Sequence[tuple[int, str]] = SITE_USERS,
    type_weights: Mapping[int, float] = DEFAULT_TYPE_WEIGHTS,
    twin_fraction: float = 0.05,
) -> list[Log]:
    """About ``n`` logs of a whole site: every user's history (:func:`generate_logs`, a seed
    and API key ids of their own), merged in time order, ids 1.. in that order.

    ``round(n * twin_fraction)`` logs are twins: a copy of another user's log in the same
    second with only ``user_id`` and ``username`` changed (same key name, model, tokens,
    quota, content, request id; the API key's id is the other user's key of that name), what
    two users calling alike at once look like to a site.
    """
    if not users:
        raise ValueError("a site has at least one user")
    rng = random.Random(f"site {seed}")
    share = max(n // len(users), 1)
    merged: list[Log] = []
    for index, (uid, name) in enumerate(users):
        merged += generate_logs(
            share,
            start=start,
            end=end,
            seed=seed * 1009 + index,
            type_weights=type_weights,
            user_id=uid,
            username=name,
            first_token_id=101 + 10 * index,
        )
    first_token = {uid: 101 + 10 * index for index, (uid, _name) in enumerate(users)}
    twins = []
    for _ in range(round(n * twin_fraction) if len(users) > 1 else 0):
        log = rng.choice(merged)
        uid, name = rng.choice([user for user in users if user[0] != log["user_id"]])
        twin = {**copy.deepcopy(log), "user_id": uid, "username": name}
        if log["token_id"]:  # the same key name, of the other user's own keys
            twin["token_id"] += first_token[uid] - first_token[log["user_id"]]
        twins.append(twin)
    merged += twins
    merged.sort(key=lambda log: log["created_at"])  # stable: each user's order is kept
    for i, log in enumerate(merged, 1):
        log["id"] = i
    return merged
