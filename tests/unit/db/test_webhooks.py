"""Webhook delivery queries: one delivery per id, one host holding a claim at a time, and an
outcome recorded only by the claim that still holds the delivery."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.core.types import new_id
from voxclone.db import webhooks
from voxclone.db.keys import get_key
from voxclone.db.tables import utcnow


async def _delivery(session: AsyncSession, make_key: Any, make_job: Any) -> tuple[str, str, str]:
    key = await make_key()
    job = await make_job(key_id=key.id)
    delivery_id = new_id()
    created = await webhooks.create_delivery(
        session,
        id=delivery_id,
        job_id=job.id,
        key_id=key.id,
        url="https://hooks.example.com/x",
        event="job.ready",
        payload="{}",
        now=utcnow(),
    )
    assert created
    return delivery_id, key.id, job.id


async def test_a_delivery_is_created_once(
    session: AsyncSession, make_key: Callable[..., Awaitable[Any]], make_job: Any
) -> None:
    delivery_id, key_id, _ = await _delivery(session, make_key, make_job)
    delivery = await webhooks.get_delivery(session, delivery_id=delivery_id)
    assert delivery is not None
    again = await webhooks.create_delivery(
        session,
        id=delivery_id,
        job_id=delivery.job_id,
        key_id=key_id,
        url="https://hooks.example.com/y",
        event="job.ready",
        payload="{}",
        now=utcnow(),
    )
    assert not again
    await session.commit()  # the transaction is still usable
    assert [
        d.delivery.url for d in await webhooks.list_deliveries(session, job_id=delivery.job_id)
    ] == ["https://hooks.example.com/x"]


async def test_a_claim_is_held_until_it_expires(
    session: AsyncSession, make_key: Any, make_job: Any
) -> None:
    delivery_id, _, job_id = await _delivery(session, make_key, make_job)
    now = utcnow()
    first = await webhooks.claim_delivery(
        session, delivery_id=delivery_id, now=now, hold_until=now + timedelta(seconds=10)
    )
    assert first is not None and first.attempts == 1
    assert await webhooks.list_due_ids(session, now=now) == []
    assert (
        await webhooks.claim_delivery(
            session, delivery_id=delivery_id, now=now, hold_until=now + timedelta(seconds=10)
        )
        is None
    )
    later = now + timedelta(seconds=11)
    assert await webhooks.list_due_ids(session, now=later) == [delivery_id]
    second = await webhooks.claim_delivery(
        session, delivery_id=delivery_id, now=later, hold_until=later + timedelta(seconds=10)
    )
    assert second is not None and second.attempts == 2

    # The first claim's outcome comes too late: logged, but it does not settle the delivery.
    stale = await webhooks.record_attempt(
        session,
        delivery_id=delivery_id,
        attempt=1,
        attempt_id=new_id(),
        at=later,
        status_code=200,
        error=None,
        duration_ms=5,
        status=webhooks.DELIVERED,
    )
    assert not stale
    current = await webhooks.record_attempt(
        session,
        delivery_id=delivery_id,
        attempt=2,
        attempt_id=new_id(),
        at=later,
        status_code=500,
        error="HTTP 500",
        duration_ms=5,
        status=webhooks.PENDING,
        next_attempt_at=later + timedelta(seconds=5),
    )
    assert current
    (log,) = await webhooks.list_deliveries(session, job_id=job_id)
    assert log.delivery.status == "pending" and log.delivery.claimed_until is None
    assert log.delivery.last_status_code == 500
    assert [a.attempt for a in log.attempts] == [1, 2]
    assert await webhooks.list_due_ids(session, now=later) == []
    assert await webhooks.list_due_ids(session, now=later + timedelta(seconds=6)) == [delivery_id]


async def test_a_webhook_secret_is_set_only_when_missing(
    session: AsyncSession, make_key: Any
) -> None:
    key = await make_key()
    assert await webhooks.ensure_webhook_secret(session, key_id=key.id, secret="whsec_a")
    assert not await webhooks.ensure_webhook_secret(session, key_id=key.id, secret="whsec_b")
    record = await get_key(session, key_id=key.id)
    assert record is not None
    await session.refresh(record)
    assert record.webhook_secret == "whsec_a"
