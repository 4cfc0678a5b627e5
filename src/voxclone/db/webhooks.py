"""Queries on outbound webhook deliveries and their attempts. Flush, never commit.

A delivery is sent by one host at a time: ``claim_delivery`` is a conditional UPDATE that
takes a pending, due delivery whose claim (``claimed_until``) is free or expired, so of two
dispatchers polling the same table exactly one sends it. A host that dies mid-send leaves a
claim that expires, and the delivery is tried again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db.tables import ApiKey, WebhookAttempt, WebhookDelivery

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DeliveryLog:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


async def create_delivery(
    session: AsyncSession,
    *,
    id: str,
    job_id: str,
    key_id: str,
    url: str,
    event: str,
    payload: str,
    now: datetime,
) -> bool:
    """Add a pending delivery due at ``now``; False when one with this id already exists (the
    id is derived from the job, so a job told twice that it ended gets one delivery).

    Runs in a savepoint, so a duplicate leaves the caller's transaction usable.
    """
    statement = insert(WebhookDelivery).values(
        id=id,
        job_id=job_id,
        key_id=key_id,
        url=url,
        event=event,
        payload=payload,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            await session.execute(statement)
    except IntegrityError:
        return False
    return True


def _claimable(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        WebhookDelivery.status == PENDING,
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
    )


async def list_due_ids(session: AsyncSession, *, now: datetime, limit: int = 100) -> list[str]:
    """Pending deliveries due by ``now`` and not held by a host, the longest-waiting first."""
    query = (
        select(WebhookDelivery.id)
        .where(*_claimable(now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def claim_delivery(
    session: AsyncSession, *, delivery_id: str, now: datetime, hold_until: datetime
) -> WebhookDelivery | None:
    """Hold the delivery until ``hold_until`` and count an attempt; None if it is not pending,
    not due, or held by another host. The returned row's ``attempts`` numbers this attempt."""
    statement = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, *_claimable(now))
        .values(claimed_until=hold_until, attempts=WebhookDelivery.attempts + 1)
        .returning(WebhookDelivery.id)
    )
    options = {"synchronize_session": False}
    if (await session.execute(statement, execution_options=options)).first() is None:
        return None
    return await session.get(WebhookDelivery, delivery_id, populate_existing=True)


async def record_attempt(
    session: AsyncSession,
    *,
    delivery_id: str,
    attempt: int,
    attempt_id: str,
    at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    status: str,
    next_attempt_at: datetime | None = None,
) -> bool:
    """Log claim ``attempt`` of the delivery and release the claim with the outcome:
    ``status`` delivered, failed (given up) or pending again at ``next_attempt_at``.

    The outcome is recorded only while that claim still holds the delivery (False otherwise:
    the claim expired and another host took it); the attempt is logged either way.
    """
    session.add(
        WebhookAttempt(
            id=attempt_id,
            delivery_id=delivery_id,
            attempt=attempt,
            at=at,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    values: dict[str, object] = {
        "status": status,
        "claimed_until": None,
        "last_status_code": status_code,
        "last_error": error,
    }
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if status == DELIVERED:
        values["delivered_at"] = at
    statement = (
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == PENDING,
            WebhookDelivery.attempts == attempt,
        )
        .values(**values)
        .returning(WebhookDelivery.id)
    )
    options = {"synchronize_session": False}
    return (await session.execute(statement, execution_options=options)).first() is not None


async def list_deliveries(session: AsyncSession, *, job_id: str) -> list[DeliveryLog]:
    """The job's deliveries, oldest first, each with its attempts in order."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.job_id == job_id)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        .execution_options(populate_existing=True)
    )
    deliveries: Sequence[WebhookDelivery] = (await session.execute(query)).scalars().all()
    if not deliveries:
        return []
    attempts_query = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_([d.id for d in deliveries]))
        .order_by(WebhookAttempt.attempt, WebhookAttempt.at)
    )
    by_delivery: dict[str, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
    for attempt in (await session.execute(attempts_query)).scalars():
        by_delivery[attempt.delivery_id].append(attempt)
    return [DeliveryLog(delivery=d, attempts=by_delivery[d.id]) for d in deliveries]


async def get_delivery(session: AsyncSession, *, delivery_id: str) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id, populate_existing=True)


async def ensure_webhook_secret(session: AsyncSession, *, key_id: str, secret: str) -> bool:
    """Give the key ``secret`` unless it already has one (a rotation is never overwritten);
    True when it was set."""
    statement = (
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.webhook_secret.is_(None))
        .values(webhook_secret=secret)
        .returning(ApiKey.id)
    )
    options = {"synchronize_session": False}
    return (await session.execute(statement, execution_options=options)).first() is not None
