"""Usage: ``GET /v1/usage`` (a user key's own) and ``GET /v1/admin/usage`` (every key's).

``from`` and ``to`` are ISO-8601 dates or datetimes (UTC unless they carry an offset); the range
is ``[from, to)``, and a date as ``to`` includes that whole day. ``group_by`` is one grouping or
several, comma-separated.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from voxclone.api.deps import AdminKey, ServicesDep, UserKey
from voxclone.api.usage_schemas import UsagePublic
from voxclone.core.types import parse_id
from voxclone.services.usage import GROUPS, USER_GROUPS, parse_bound, parse_groups

router = APIRouter(tags=["usage"])


FromQuery = Annotated[
    str | None,
    Query(
        alias="from", description="Start (inclusive): a date or datetime; default: the period's."
    ),
]
ToQuery = Annotated[
    str | None,
    Query(description="End (exclusive; a date includes that day); default: the period's end."),
]


@router.get("/v1/usage", response_model=UsagePublic)
async def usage(
    services: ServicesDep,
    user: UserKey,
    start: FromQuery = None,
    to: ToQuery = None,
    group_by: Annotated[
        str | None,
        Query(description="day, backend, voice or kind (comma-separated); default: backend,day."),
    ] = None,
) -> UsagePublic:
    """This key's characters, audio seconds and requests, by default over its current billing
    period (the Stripe billing window when it has one, else the calendar month), with its
    quota. A cache hit costs no characters but counts as a request."""
    summary = await services.usage.summary(
        key=user,
        start=parse_bound(start, field="from"),
        end=parse_bound(to, field="to", end=True),
        group_by=parse_groups(group_by, allowed=USER_GROUPS, default=("backend", "day")),
    )
    return UsagePublic.of(summary)


@router.get("/v1/admin/usage", response_model=UsagePublic)
async def admin_usage(
    services: ServicesDep,
    _admin: AdminKey,
    start: FromQuery = None,
    to: ToQuery = None,
    group_by: Annotated[
        str | None,
        Query(description="key, day, backend, voice or kind (comma-separated); default: key."),
    ] = None,
    key_id: Annotated[str | None, Query(description="Only this key's usage.")] = None,
) -> UsagePublic:
    """Usage across every key (or one), by default over the calendar month."""
    summary = await services.usage.summary(
        key_id=parse_id(key_id, what="key_id") if key_id else None,
        start=parse_bound(start, field="from"),
        end=parse_bound(to, field="to", end=True),
        group_by=parse_groups(group_by, allowed=GROUPS, default=("key",)),
    )
    return UsagePublic.of(summary)
