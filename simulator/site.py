"""The account state a New API site serves besides its logs, derived from the stored logs.

Everything here is a pure function of the logs the simulator holds (and a few constants), so
the numbers agree with ``/api/log/self``: a user's ``used_quota`` is the sum of ``quota`` over
its type-2 logs, a token's ``used_quota`` that over the token's type-2 logs, a QuotaData row
the hour bucket of its type-2 logs. Shapes read from QuantumNous/new-api: model/user.go
(``User``), controller/user.go (GetSelf), model/token.go (``Token``), controller/token.go
(GetAllTokens), controller/misc.go (GetStatus), model/pricing.go (``Pricing``),
controller/pricing.go (GetPricing) and model/usedata.go (``QuotaData``, LogQuotaData,
GetQuotaDataByUserId, GetAllQuotaDates).

Secrets: New API's ``User`` model has ``password`` and ``access_token`` columns, and
``Token.key`` and ``Channel.key`` are credentials. The simulator fills every one of them
with a value containing :data:`SECRET_MARKER`, so a client's tests can grep whatever it
wrote for the marker (or for :data:`SECRET_VALUES`) and prove it never copied one.
"""

# ruff: noqa: RUF001, RUF002 - strings and docstrings quote New API's Chinese text verbatim

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .data import (
    _CHANNELS,
    _GROUPS,
    _TASK_MODELS,
    DEFAULT_TOKENS,
    QUOTA_PER_UNIT,
    TYPE_CONSUME,
    TYPE_REFUND,
    TYPE_SYSTEM,
    TYPE_TOPUP,
    Log,
    _ratios,
)

#: every secret the simulator serves contains this, and nothing else it serves does
SECRET_MARKER = "SIMSECRET"
#: the self user's ``access_token`` (New API: ``char(32)``, the system access token)
ACCESS_TOKEN_SECRET = SECRET_MARKER + "access0token0do0not0log"
#: the self user's ``password`` column (a bcrypt hash's shape: 60 characters)
PASSWORD_SECRET = ("$2a$10$" + SECRET_MARKER + "password0hash0do0not0log").ljust(60, "0")
#: a user's ``quota`` is topped up in steps of this when the logs alone would leave it negative
OPENING_STEP = 100 * QUOTA_PER_UNIT
#: what a limited token (an even id) was granted; its ``remain_quota`` is this minus its usage
TOKEN_GRANT = 100 * QUOTA_PER_UNIT
#: the price per call (USD) of the per-call models (``quota_type`` 1 in /api/pricing)
TASK_PRICES: Mapping[str, float] = {"sora-2": 0.5, "kling-v2-1": 0.2, "suno_music": 0.1}
#: New API's default UserUsableGroups (setting/user_usable_group.go), as /api/pricing names them
USABLE_GROUPS: Mapping[str, str] = {"default": "默认分组", "vip": "vip分组"}
GROUP_RATIOS: Mapping[str, float] = dict(_GROUPS)
SYSTEM_NAME = "New API"
VERSION = "v0.0.0-simulator"
#: controller/user.go generateDefaultSidebarConfig's "admin" area is what roles differ in
ROLE_COMMON, ROLE_ADMIN, ROLE_ROOT = 1, 10, 100
#: model/usedata.go: QuotaData's hour bucket; controller/usedata.go: the self span limit
HOUR, MAX_DATA_SPAN = 3600, 2_592_000
MSG_SPAN = "时间跨度不能超过 1 个月"
_AMOUNT = re.compile(r"＄([0-9]+(?:\.[0-9]+)?) 额度")


def _pad(prefix: str, seed: str, length: int) -> str:
    """``prefix`` made up to ``length`` with hex digits derived from ``seed``."""
    digest = hashlib.sha256(seed.encode()).hexdigest() * 2
    return (prefix + digest)[:length]


def token_key(token_id: int) -> str:
    """Token ``token_id``'s key as New API stores it: 48 characters, no ``sk-`` prefix."""
    return _pad(f"{SECRET_MARKER}tokenkey{token_id:06d}", f"token {token_id}", 48)


def channel_key(channel_id: int) -> str:
    """Channel ``channel_id``'s upstream API key."""
    return _pad(f"sk-{SECRET_MARKER}upstream{channel_id:04d}", f"channel {channel_id}", 51)


def access_token(user_id: int, self_id: int) -> str:
    """A user's system access token: :data:`ACCESS_TOKEN_SECRET` for the self user."""
    if user_id == self_id:
        return ACCESS_TOKEN_SECRET
    return _pad(f"{SECRET_MARKER}access{user_id:06d}", f"access {user_id}", 32)


def password_hash(user_id: int, self_id: int) -> str:
    """A user's stored password hash: :data:`PASSWORD_SECRET` for the self user."""
    if user_id == self_id:
        return PASSWORD_SECRET
    return _pad(f"$2a$10${SECRET_MARKER}password{user_id:06d}", f"password {user_id}", 60)


def mask_key(key: str) -> str:
    """model/token.go MaskTokenKey: the first and last four characters around ten stars."""
    if not key:
        return ""
    if len(key) <= 4:
        return "*" * len(key)
    if len(key) <= 8:
        return key[:2] + "****" + key[-2:]
    return key[:4] + "**********" + key[-4:]


#: the fixed secrets: the self user's (user 1 unless ``SimConfig.user_id`` says otherwise:
#: see :meth:`Simulator.secret_values` for every secret one simulator serves), the keys of
#: the default tokens (ids 101..) and of the six channels the generated logs use
SECRET_VALUES: frozenset[str] = frozenset(
    {
        ACCESS_TOKEN_SECRET,
        PASSWORD_SECRET,
        *(token_key(101 + i) for i in range(len(DEFAULT_TOKENS))),
        *(channel_key(channel) for channel, _name in _CHANNELS),
    }
)


def go_bucket(created_at: int) -> int:
    """``createdAt - createdAt % 3600`` with Go's ``%`` (the sign of the dividend)."""
    remainder = abs(created_at) % HOUR
    return created_at - (remainder if created_at >= 0 else -remainder)


def _amount(content: str) -> int:
    """The first ``＄x 额度`` in a log's text, in quota (logger.LogQuota's USD form)."""
    found = _AMOUNT.search(content)
    return round(float(found.group(1)) * QUOTA_PER_UNIT) if found else 0


@dataclass
class Account:
    """One user as the logs show them; ``logs`` in id order (strays too), ``timed`` without."""

    user_id: int
    username: str
    logs: list[Log] = field(default_factory=list)
    timed: list[Log] = field(default_factory=list)


def accounts(logs: Iterable[Log], strays: Iterable[Log] = ()) -> dict[int, Account]:
    """The users of ``logs`` (in order) and ``strays``, by id; a user's name is its first."""
    found: dict[int, Account] = {}
    stray_ids = {id(log) for log in strays}
    for log in logs:
        account = found.get(log["user_id"])
        if account is None:
            account = found[log["user_id"]] = Account(log["user_id"], log["username"])
        account.logs.append(log)
        if id(log) not in stray_ids:
            account.timed.append(log)
    return found


def user_record(account: Account, *, role: int, self_id: int, full: bool = False) -> dict[str, Any]:
    """The user as GET /api/user/self answers (controller/user.go GetSelf's field list),
    plus the leaky ``access_token`` and ``password``; ``full``: model.User's JSON as
    GET /api/user/ lists it.

    ``used_quota``/``request_count``: the sum of ``quota``/the count of the user's type-2
    logs. ``quota`` (remaining): the top-ups (the amounts in the type-1 logs' text) plus the
    refunds (type 6 quota) minus ``used_quota``, plus :data:`OPENING_STEP` as many times as
    it takes to make that at least 0 (a balance from before the logs). ``aff_count``: the
    "邀请用户赠送" system logs (type 4), ``aff_quota`` = ``aff_history_quota`` their amounts.
    """
    usage = [log for log in account.logs if log["type"] == TYPE_CONSUME]
    used = sum(log["quota"] for log in usage)
    topups = sum(_amount(log["content"]) for log in account.logs if log["type"] == TYPE_TOPUP)
    refunds = sum(log["quota"] for log in account.logs if log["type"] == TYPE_REFUND)
    balance = topups + refunds - used
    if balance < 0:
        balance += -(balance // -OPENING_STEP) * OPENING_STEP
    invites = [
        log
        for log in account.logs
        if log["type"] == TYPE_SYSTEM and log["content"].startswith("邀请用户赠送")
    ]
    aff_quota = sum(_amount(log["content"]) for log in invites)
    uid, name = account.user_id, account.username
    user: dict[str, Any] = {
        "id": uid,
        "username": name,
        "password": password_hash(uid, self_id),
        "display_name": name,
        "role": role,
        "status": 1,
        "email": f"{name}@example.com",
        "github_id": "",
        "discord_id": "",
        "oidc_id": "",
        "wechat_id": "",
        "telegram_id": "",
        "access_token": access_token(uid, self_id),
        "group": "default",
        "quota": balance,
        "used_quota": used,
        "request_count": len(usage),
        "aff_code": _pad("", f"aff {uid}", 4),
        "aff_count": len(invites),
        "aff_quota": aff_quota,
        "aff_history_quota": aff_quota,
        "inviter_id": 0,
        "linux_do_id": "",
        "setting": "",
        "stripe_customer": "",
    }
    if full:
        first = min((log["created_at"] for log in account.timed), default=0)
        last = max((log["created_at"] for log in account.timed), default=0)
        user.update(
            original_password="",
            verification_code="",
            DeletedAt=None,
            created_at=max(first - 86_400, 0) if first else 0,
            last_login_at=last,
        )
        return user
    admin: Any = False if role < ROLE_ADMIN else {"setting": role >= ROLE_ROOT}
    user["sidebar_modules"] = ""
    user["permissions"] = {
        "sidebar_settings": role < ROLE_ROOT,
        "sidebar_modules": {"admin": admin},
    }
    return user


def tokens(account: Account, *, masked: bool = False) -> list[dict[str, Any]]:
    """The user's API keys (model.Token's JSON), newest id first as GetAllUserTokens orders.

    One per ``token_id`` its logs name (its ``name`` the first log's ``token_name``).
    ``used_quota``: the sum of ``quota`` over the token's type-2 logs. Odd ids are
    ``unlimited_quota`` (``remain_quota`` 0); even ids were granted :data:`TOKEN_GRANT`, less
    their usage (at least 0). ``created_time``: a day before its first log,
    ``accessed_time``: its last log (strays aside). ``key``: :func:`token_key`, or as
    controller/token.go buildMaskedTokenResponse masks it when ``masked``.
    """
    found: dict[int, dict[str, Any]] = {}
    timed = {id(log) for log in account.timed}
    for log in account.logs:
        token_id = log["token_id"]
        if not token_id:
            continue
        token = found.get(token_id)
        if token is None:
            key = token_key(token_id)
            token = found[token_id] = {
                "id": token_id,
                "user_id": account.user_id,
                "key": mask_key(key) if masked else key,
                "status": 1,
                "name": log["token_name"],
                "created_time": 0,
                "accessed_time": 0,
                "expired_time": -1,
                "remain_quota": 0,
                "unlimited_quota": token_id % 2 == 1,
                "model_limits_enabled": False,
                "model_limits": "",
                "allow_ips": "",
                "used_quota": 0,
                "group": "",
                "cross_group_retry": False,
                "DeletedAt": None,
            }
        if log["type"] == TYPE_CONSUME:
            token["used_quota"] += log["quota"]
        if id(log) in timed:
            if not token["created_time"]:
                token["created_time"] = max(log["created_at"] - 86_400, 0)
            token["accessed_time"] = max(token["accessed_time"], log["created_at"])
    for token in found.values():
        if not token["unlimited_quota"]:
            token["remain_quota"] = max(TOKEN_GRANT - token["used_quota"], 0)
    return [found[token_id] for token_id in sorted(found, reverse=True)]


def status(*, data_export: bool, start_time: int, server_address: str) -> dict[str, Any]:
    """GET /api/status's ``data`` (controller/misc.go GetStatus, everything a signed-in user
    sees; older versions show it to anyone). No secrets: OAuth client ids are blank."""
    return {
        "system_name": SYSTEM_NAME,
        "logo": "",
        "footer_html": "",
        "email_verification": False,
        "github_oauth": False,
        "github_client_id": "",
        "linuxdo_oauth": False,
        "telegram_oauth": False,
        "wechat_login": False,
        "oidc_enabled": False,
        "passkey_login": False,
        "turnstile_check": False,
        "turnstile_site_key": "",
        "register_enabled": True,
        "password_register_enabled": True,
        "demo_site_enabled": False,
        "self_use_mode_enabled": False,
        "server_address": server_address,
        "setup": True,
        "version": VERSION,
        "start_time": start_time,
        "default_use_auto_group": False,
        "docs_link": "",
        "quota_per_unit": QUOTA_PER_UNIT,
        "display_in_currency": True,
        "quota_display_type": "USD",
        "custom_currency_symbol": "¤",
        "custom_currency_exchange_rate": 1,
        "usd_exchange_rate": 7.3,
        "price": 7.3,
        "stripe_unit_price": 8.0,
        "enable_batch_update": False,
        "enable_drawing": True,
        "enable_task": True,
        "enable_data_export": data_export,
        "data_export_default_time": "hour",
        "default_collapse_sidebar": False,
        "mj_notify_enabled": False,
        "chats": [],
        "checkin_enabled": False,
    }


def pricing(models: Iterable[str]) -> dict[str, Any]:
    """GET /api/pricing's whole answer (controller/pricing.go GetPricing: no ``message``).

    One model.Pricing per model name, sorted: per-token models (``quota_type`` 0) carry the
    generator's ``model_ratio``/``completion_ratio`` (those the logs' quota was computed
    with), per-call ones (:data:`TASK_PRICES`, the refunded task models) ``model_price``.
    """
    items = []
    models_seen = sorted(set(models))
    for name in models_seen:
        task = name in TASK_PRICES or name in _TASK_MODELS
        ratio, completion = (0.0, 0) if task else _ratios(name)
        video = name in ("sora-2", "kling-v2-1")
        items.append(
            {
                "model_name": name,
                "quota_type": 1 if task else 0,
                "model_ratio": ratio,
                "model_price": TASK_PRICES.get(name, 0.1) if task else 0,
                "owner_by": "",
                "completion_ratio": completion,
                "enable_groups": list(USABLE_GROUPS),
                "supported_endpoint_types": ["openai-video" if video else "openai"],
                "wallet_available": True,
                "subscription_available": True,
            }
        )
    endpoints = {"openai": {"path": "/v1/chat/completions", "method": "POST"}}
    if any(name in ("sora-2", "kling-v2-1") for name in models_seen):
        endpoints["openai-video"] = {"path": "/v1/video/generations", "method": "POST"}
    return {
        "success": True,
        "data": items,
        "vendors": [],
        "group_ratio": dict(GROUP_RATIOS),
        "usable_group": dict(USABLE_GROUPS),
        "supported_endpoint": endpoints,
        "auto_groups": ["default"],
        "pricing_version": "simulator-1",
    }


#: New API's channel type numbers (constant/channel.go) of the generated logs' channels
CHANNEL_TYPES: Mapping[int, int] = {1: 1, 2: 3, 3: 14, 4: 43, 5: 41, 6: 17}
#: an upstream balance (USD) as the last balance check left it, before the logs' usage
CHANNEL_BALANCE = 500.0


def channels(logs: Iterable[Log]) -> list[dict[str, Any]]:
    """The channels the logs name (model/channel.go ``Channel``'s JSON, the leaky ``key``
    included: current New API omits it from GET /api/channel/), newest id first.

    ``used_quota``: the sum of ``quota`` over the channel's type-2 logs; ``balance``:
    :data:`CHANNEL_BALANCE` less that in USD (2 decimals); ``models``: the models its logs
    name, sorted, comma-separated; ``group``: "default,vip"; ``priority`` 0, ``weight`` 0.
    """
    found: dict[int, dict[str, Any]] = {}
    models: dict[int, set[str]] = {}
    for log in logs:
        channel_id = log["channel"]
        if not channel_id:
            continue
        channel = found.get(channel_id)
        if channel is None:
            channel = found[channel_id] = {
                "id": channel_id,
                "type": CHANNEL_TYPES.get(channel_id, 1),
                "key": channel_key(channel_id),
                "openai_organization": None,
                "test_model": None,
                "status": 1,
                "name": log["channel_name"],
                "weight": 0,
                "created_time": max(log["created_at"] - 86_400, 0),
                "test_time": 0,
                "response_time": 0,
                "base_url": "",
                "other": "",
                "balance": 0.0,
                "balance_updated_time": 0,
                "models": "",
                "group": ",".join(USABLE_GROUPS),
                "used_quota": 0,
                "model_mapping": None,
                "status_code_mapping": "",
                "priority": 0,
                "auto_ban": 1,
                "other_info": "",
                "tag": None,
                "setting": None,
                "param_override": None,
                "remark": None,
            }
            models[channel_id] = set()
        if log["model_name"]:
            models[channel_id].add(log["model_name"])
        if log["type"] == TYPE_CONSUME:
            channel["used_quota"] += log["quota"]
    for channel_id, channel in found.items():
        channel["models"] = ",".join(sorted(models[channel_id]))
        channel["balance"] = round(CHANNEL_BALANCE - channel["used_quota"] / QUOTA_PER_UNIT, 2)
    return [found[channel_id] for channel_id in sorted(found, reverse=True)]


def quota_data(logs: Sequence[Log]) -> list[dict[str, Any]]:
    """The quota_data table New API's LogQuotaData fills from ``logs`` (model/usedata.go).

    A row per (user_id, username, model_name, hour bucket) of the type-2 logs, with ``count``
    logs, the sum of their ``quota`` and ``token_used`` (prompt + completion tokens); ``id``s
    in the order the rows first appear in ``logs`` (id order), as inserts number them.
    """
    rows: dict[tuple[int, str, str, int], dict[str, Any]] = {}
    for log in logs:
        if log["type"] != TYPE_CONSUME:
            continue
        bucket = go_bucket(log["created_at"])
        key = (log["user_id"], log["username"], log["model_name"], bucket)
        row = rows.get(key)
        if row is None:
            row = rows[key] = {
                "id": len(rows) + 1,
                "user_id": log["user_id"],
                "username": log["username"],
                "model_name": log["model_name"],
                "created_at": bucket,
                "token_used": 0,
                "count": 0,
                "quota": 0,
            }
        row["token_used"] += log["prompt_tokens"] + log["completion_tokens"]
        row["count"] += 1
        row["quota"] += log["quota"]
    return list(rows.values())


def quota_data_by_model(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """GetAllQuotaDates without a username: ``sum(count), sum(quota), sum(token_used)``
    grouped by (model_name, created_at), the other columns zero values; by first row."""
    merged: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        key = (row["model_name"], row["created_at"])
        into = merged.get(key)
        if into is None:
            into = merged[key] = {
                "id": 0,
                "user_id": 0,
                "username": "",
                "model_name": row["model_name"],
                "created_at": row["created_at"],
                "token_used": 0,
                "count": 0,
                "quota": 0,
            }
        for name in ("token_used", "count", "quota"):
            into[name] += row[name]
    return list(merged.values())
