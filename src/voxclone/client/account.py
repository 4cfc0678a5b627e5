"""The key's usage and quota, API keys (admin), and the server's health."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from voxclone.client import calls as c
from voxclone.client.calls import Call, Op
from voxclone.client.models import Model
from voxclone.client.resource import AsyncResource, SyncResource, async_op, sync_op


class UsageTotals(Model):
    characters: int
    audio_out_s: float
    audio_in_s: float
    requests: int
    cache_hits: int


class UsageGroup(UsageTotals):
    """One row of a grouping: ``day``, ``backend``, ``voice_id``, ``kind`` or ``key_id``."""

    day: date | None = None
    backend: str | None = None
    voice_id: str | None = None
    kind: str | None = None
    key_id: str | None = None


class Quota(Model):
    period_start: datetime
    period_end: datetime
    quota: int | None
    used: int
    left: int | None
    resets_at: datetime


class Usage(Model):
    key_id: str | None = None
    from_: datetime = Field(alias="from")
    to: datetime
    totals: UsageTotals
    quota: Quota | None = None
    by_day: list[UsageGroup] | None = None
    by_backend: list[UsageGroup] | None = None
    by_voice: list[UsageGroup] | None = None
    by_kind: list[UsageGroup] | None = None
    by_key: list[UsageGroup] | None = None


class Key(Model):
    key_id: str
    label: str
    prefix: str
    rate_limit_per_minute: int | None = None
    monthly_char_quota: int | None = None
    max_concurrent_jobs: int | None = None
    created_at: datetime
    revoked_at: datetime | None = None


class KeyIssued(Key):
    api_key: str


class Health(Model):
    status: str
    version: str
    uptime_seconds: float
    backends: list[str] = []


def _bound(value: datetime | date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date | datetime) else value


def usage(
    *,
    start: datetime | date | str | None = None,
    end: datetime | date | str | None = None,
    group_by: str | list[str] | None = None,
) -> Op[Usage]:
    """The key's characters, audio seconds and requests over its billing period (or
    ``start``..``end``), with its quota; ``group_by``: day, backend, voice, kind."""
    groups = ",".join(group_by) if isinstance(group_by, list) else group_by
    params = {"from": _bound(start), "to": _bound(end), "group_by": groups}
    return c.model(Call("GET", "/v1/usage", params=params), Usage)


def admin_usage(
    *,
    start: datetime | date | str | None = None,
    end: datetime | date | str | None = None,
    group_by: str | list[str] | None = None,
    key_id: str | None = None,
) -> Op[Usage]:
    """Admin: usage across keys (or one, ``key_id``); ``group_by`` may include ``key``."""
    groups = ",".join(group_by) if isinstance(group_by, list) else group_by
    params = {"from": _bound(start), "to": _bound(end), "group_by": groups, "key_id": key_id}
    return c.model(Call("GET", "/v1/admin/usage", params=params), Usage)


def health() -> Op[Health]:
    return c.model(Call("GET", "/v1/health"), Health)


def create_key(label: str = "", **limits: Any) -> Op[KeyIssued]:
    """Admin: a new user key (``api_key`` is shown once). Limits: ``rate_limit_per_minute``,
    ``monthly_char_quota``, ``max_concurrent_jobs``..."""
    return c.model(Call("POST", "/v1/keys", json={"label": label, **limits}), KeyIssued)


def list_keys() -> Op[list[Key]]:
    return c.models(Call("GET", "/v1/keys"), Key)


def get_key(key_id: str) -> Op[Key]:
    return c.model(Call("GET", f"/v1/keys/{key_id}"), Key)


def update_key(key_id: str, **changes: Any) -> Op[Key]:
    """Admin: change ``label`` and limits (``None`` clears one back to the default)."""
    return c.model(Call("PATCH", f"/v1/keys/{key_id}", json=changes), Key)


def revoke_key(key_id: str) -> Op[None]:
    return c.nothing(Call("DELETE", f"/v1/keys/{key_id}"))


class Account(SyncResource):
    usage = sync_op(usage)
    admin_usage = sync_op(admin_usage)
    health = sync_op(health)


class AsyncAccount(AsyncResource):
    usage = async_op(usage)
    admin_usage = async_op(admin_usage)
    health = async_op(health)


class Keys(SyncResource):
    create = sync_op(create_key)
    list = sync_op(list_keys)
    get = sync_op(get_key)
    update = sync_op(update_key)
    revoke = sync_op(revoke_key)


class AsyncKeys(AsyncResource):
    create = async_op(create_key)
    list = async_op(list_keys)
    get = async_op(get_key)
    update = async_op(update_key)
    revoke = async_op(revoke_key)
