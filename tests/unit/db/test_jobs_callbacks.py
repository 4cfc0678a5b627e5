"""Jobs handed to callback engines: no lease, so nothing reclaims them; only their timeout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.core.types import JobStatus
from voxclone.db import jobs
from voxclone.db.tables import Job, utcnow

HASH = "a" * 64


@pytest.fixture
async def key_id(make_key) -> str:
    return str((await make_key()).id)


@pytest.fixture
async def handed(session: AsyncSession, make_job, key_id: str) -> Job:
    """A claimed job handed to a callback engine a minute and a half ago."""
    job: Job = await make_job(key_id=key_id)
    await jobs.claim_job(session, job_id=job.id)
    assert await jobs.await_callback(session, job_id=job.id, attempt=1, secret_hash=HASH)
    job.heartbeat_at = job.started_at = utcnow() - timedelta(seconds=90)
    await session.flush()
    return job


async def test_only_the_claim_holding_the_job_hands_it_over(
    session: AsyncSession, make_job, key_id: str
):
    job = await make_job(key_id=key_id)
    assert not await jobs.await_callback(session, job_id=job.id, attempt=0, secret_hash=HASH)
    await jobs.claim_job(session, job_id=job.id)
    assert not await jobs.await_callback(session, job_id=job.id, attempt=2, secret_hash=HASH)
    assert await jobs.await_callback(session, job_id=job.id, attempt=1, secret_hash=HASH)
    assert (job.status, job.callback_secret_hash) == ("running", HASH)
    await jobs.cancel_job(session, job_id=job.id)
    assert not await jobs.await_callback(session, job_id=job.id, attempt=1, secret_hash=HASH)


async def test_a_handed_over_job_is_never_reclaimed_or_released(session: AsyncSession, handed: Job):
    later = utcnow() + timedelta(seconds=1)
    assert await jobs.claim_job(session, job_id=handed.id, stale_before=later) is None
    assert await jobs.release_stale_jobs(session, started_before=later) == 0
    lost = await jobs.list_lost_job_candidates(session, created_before=later, stale_before=later)
    assert lost == []
    assert (handed.status, handed.attempts) == ("running", 1)


async def test_overdue_callbacks_are_those_triggered_before_the_deadline(
    session: AsyncSession, handed: Job, make_job, key_id: str
):
    recent = await make_job(key_id=key_id)
    await jobs.claim_job(session, job_id=recent.id)
    await jobs.await_callback(session, job_id=recent.id, attempt=1, secret_hash=HASH)
    plain = await make_job(key_id=key_id)
    await jobs.claim_job(session, job_id=plain.id)
    plain.heartbeat_at = utcnow() - timedelta(hours=1)  # a worker's stale lease: not ours
    await session.flush()

    overdue = await jobs.list_overdue_callbacks(
        session, triggered_before=utcnow() - timedelta(seconds=60)
    )

    assert [j.id for j in overdue] == [handed.id]
    await jobs.finish_job(session, job_id=handed.id, status=JobStatus.READY, attempt=1)
    later = utcnow() + timedelta(seconds=1)
    assert await jobs.list_overdue_callbacks(session, triggered_before=later) == [recent]
