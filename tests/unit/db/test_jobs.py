from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.types import JobStatus, new_id
from voxclone.db import jobs
from voxclone.db.tables import Job, utcnow

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def key_id(make_key) -> str:
    return str((await make_key()).id)


@pytest.fixture
async def job(session: AsyncSession, make_job, key_id: str) -> Job:
    made: Job = await make_job(key_id=key_id, params={"text": "hi", "lang": "en"})
    await session.commit()
    return made


async def test_a_new_job_is_pending(job: Job):
    assert (job.status, job.progress, job.attempts, job.kind) == ("pending", 0.0, 0, "synthesize")
    assert job.params == {"text": "hi", "lang": "en"}
    assert job.started_at is None and job.completed_at is None


async def test_get_job_is_owner_scoped_when_asked(session: AsyncSession, job: Job, make_key):
    other = await make_key()
    assert await jobs.get_job(session, job_id=job.id) is job
    assert await jobs.get_job(session, job_id=job.id, key_id=job.key_id) is job
    assert await jobs.get_job(session, job_id=job.id, key_id=other.id) is None
    assert await jobs.get_job(session, job_id=new_id()) is None


async def test_get_job_sees_changes_made_by_other_sessions(
    session: AsyncSession, session_factory: Sessions, job: Job
):
    assert job.status == "pending"
    async with session_factory() as other:
        await jobs.cancel_job(other, job_id=job.id)
        await other.commit()
    fresh = await jobs.get_job(session, job_id=job.id)
    assert fresh is job and job.status == "cancelled"


async def test_claim_moves_a_pending_job_to_running(session: AsyncSession, job: Job):
    before = utcnow()
    claimed = await jobs.claim_job(session, job_id=job.id)
    assert claimed is job
    assert (job.status, job.attempts, job.progress) == ("running", 1, 0.0)
    assert job.started_at is not None and job.started_at >= before


async def test_a_running_job_is_not_claimed_again(session: AsyncSession, job: Job):
    assert await jobs.claim_job(session, job_id=job.id) is not None
    assert await jobs.claim_job(session, job_id=job.id) is None
    long_ago = utcnow() - timedelta(hours=1)
    assert await jobs.claim_job(session, job_id=job.id, stale_before=long_ago) is None
    assert job.attempts == 1


async def test_a_stale_running_job_is_claimed_with_another_attempt(session: AsyncSession, job: Job):
    await jobs.claim_job(session, job_id=job.id)
    await jobs.set_progress(session, job_id=job.id, progress=0.5)
    again = await jobs.claim_job(session, job_id=job.id, stale_before=utcnow())
    assert again is job
    # The progress a client saw is kept: a resumed job never reports less than before.
    assert (job.status, job.attempts, job.progress) == ("running", 2, 0.5)
    await jobs.set_progress(session, job_id=job.id, progress=0.1)
    await session.refresh(job)
    assert job.progress == 0.5
    await jobs.set_progress(session, job_id=job.id, progress=0.75)
    await session.refresh(job)
    assert job.progress == 0.75


async def test_a_job_handed_back_is_pending_and_claimable_at_once(session: AsyncSession, job: Job):
    await jobs.claim_job(session, job_id=job.id, worker="host-a")
    await jobs.set_progress(session, job_id=job.id, progress=0.4)
    assert await jobs.release_job(session, job_id=job.id, attempt=2) is False  # not that claim
    assert await jobs.release_job(session, job_id=job.id, attempt=1) is True
    await session.refresh(job)
    assert (job.status, job.worker, job.progress) == ("pending", None, 0.4)
    again = await jobs.claim_job(session, job_id=job.id, worker="host-b")
    assert again is not None
    assert (again.attempts, again.worker) == (2, "host-b")


@pytest.mark.parametrize("status", [JobStatus.READY, JobStatus.FAILED, JobStatus.CANCELLED])
async def test_terminal_jobs_are_never_claimed(session: AsyncSession, job: Job, status: JobStatus):
    await jobs.finish_job(session, job_id=job.id, status=status)
    assert await jobs.claim_job(session, job_id=job.id, stale_before=utcnow()) is None
    assert job.status == status.value and job.attempts == 0


async def test_claiming_a_missing_job_gives_none(session: AsyncSession):
    assert await jobs.claim_job(session, job_id=new_id()) is None


async def test_of_concurrent_claims_exactly_one_wins(session_factory: Sessions, job: Job):
    async def claim() -> Job | None:
        async with session_factory() as session:
            claimed = await jobs.claim_job(session, job_id=job.id)
            await asyncio.sleep(0.05)  # hold the write lock while the others try
            await session.commit()
            return claimed

    results = await asyncio.gather(*(claim() for _ in range(4)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].attempts == 1
    async with session_factory() as session:
        stored = await jobs.get_job(session, job_id=job.id)
    assert stored is not None and (stored.status, stored.attempts) == ("running", 1)


async def test_progress_is_clamped_and_only_for_running_jobs(session: AsyncSession, job: Job):
    assert await jobs.set_progress(session, job_id=job.id, progress=0.3) is False
    await jobs.claim_job(session, job_id=job.id)
    assert await jobs.set_progress(session, job_id=job.id, progress=0.3) is True
    assert job.progress == pytest.approx(0.3)
    await jobs.set_progress(session, job_id=job.id, progress=7)
    assert job.progress == 1.0
    await jobs.set_progress(session, job_id=job.id, progress=-1)
    assert job.progress == 1.0  # clamped to 0, and progress never goes down


async def test_finish_ready_records_the_audio(session: AsyncSession, job: Job):
    await jobs.claim_job(session, job_id=job.id)
    changed = await jobs.finish_job(
        session, job_id=job.id, status=JobStatus.READY, audio_key="jobs/x.wav", audio_duration_s=2.5
    )
    assert changed is True
    assert (job.status, job.progress, job.audio_key, job.audio_duration_s, job.error) == (
        "ready",
        1.0,
        "jobs/x.wav",
        2.5,
        None,
    )
    assert job.completed_at is not None


async def test_finish_failed_records_the_error(session: AsyncSession, job: Job):
    assert await jobs.finish_job(session, job_id=job.id, status=JobStatus.FAILED, error="boom")
    assert (job.status, job.error, job.audio_key) == ("failed", "boom", None)


async def test_a_late_worker_does_not_overwrite_cancelled(
    session: AsyncSession, session_factory: Sessions, job: Job
):
    await jobs.claim_job(session, job_id=job.id)
    await session.commit()
    async with session_factory() as api:
        cancelled = await jobs.cancel_job(api, job_id=job.id, key_id=job.key_id)
        await api.commit()
    assert cancelled is not None and cancelled.status == "cancelled"
    changed = await jobs.finish_job(
        session, job_id=job.id, status=JobStatus.READY, audio_key="jobs/late.wav"
    )
    assert changed is False
    assert (job.status, job.audio_key) == ("cancelled", None)  # re-read by finish_job


async def test_a_redelivered_finished_job_stays_as_it_was(session: AsyncSession, job: Job):
    await jobs.finish_job(session, job_id=job.id, status=JobStatus.READY, audio_key="jobs/1.wav")
    first_completion = job.completed_at
    again = await jobs.finish_job(
        session, job_id=job.id, status=JobStatus.FAILED, error="second delivery"
    )
    assert again is False
    assert (job.status, job.audio_key, job.error) == ("ready", "jobs/1.wav", None)
    assert job.completed_at == first_completion


async def test_finish_needs_a_terminal_status(session: AsyncSession, job: Job):
    with pytest.raises(ValueError, match="terminal"):
        await jobs.finish_job(session, job_id=job.id, status=JobStatus.RUNNING)


async def test_cancel_leaves_finished_jobs_alone_and_is_owner_scoped(
    session: AsyncSession, job: Job, make_key
):
    other = await make_key()
    assert await jobs.cancel_job(session, job_id=job.id, key_id=other.id) is None
    assert job.status == "pending"
    await jobs.finish_job(session, job_id=job.id, status=JobStatus.READY, audio_key="a.wav")
    same = await jobs.cancel_job(session, job_id=job.id, key_id=job.key_id)
    assert same is job and job.status == "ready"
    assert await jobs.cancel_job(session, job_id=new_id()) is None


async def test_mark_failed_fails_a_ready_job_but_not_a_cancelled_one(
    session: AsyncSession, make_job, key_id: str
):
    ready, cancelled = await make_job(key_id=key_id), await make_job(key_id=key_id)
    await jobs.finish_job(session, job_id=ready.id, status=JobStatus.READY, audio_key="gone.wav")
    await jobs.cancel_job(session, job_id=cancelled.id)
    assert await jobs.mark_failed(session, job_id=ready.id, error="audio missing") is True
    assert (ready.status, ready.error, ready.audio_key) == ("failed", "audio missing", None)
    assert await jobs.mark_failed(session, job_id=cancelled.id, error="x") is False
    assert cancelled.status == "cancelled"


async def _age(session: AsyncSession, made: list[Job]) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i, job in enumerate(made):
        job.created_at = start + timedelta(minutes=i)
    await session.flush()


async def test_unfinished_ids_are_pending_and_running_oldest_first(
    session: AsyncSession, make_job, key_id: str
):
    made = [await make_job(key_id=key_id) for _ in range(5)]
    await _age(session, list(reversed(made)))  # made[4] is the oldest
    await jobs.claim_job(session, job_id=made[1].id)
    await jobs.finish_job(session, job_id=made[2].id, status=JobStatus.READY)
    await jobs.cancel_job(session, job_id=made[3].id)
    ids = await jobs.list_unfinished_job_ids(session)
    assert ids == [made[4].id, made[1].id, made[0].id]


async def test_release_stale_jobs_puts_interrupted_jobs_back(
    session: AsyncSession, make_job, key_id: str
):
    interrupted, current = await make_job(key_id=key_id), await make_job(key_id=key_id)
    await jobs.claim_job(session, job_id=interrupted.id)
    restart = utcnow()
    await jobs.claim_job(session, job_id=current.id)
    assert await jobs.release_stale_jobs(session, started_before=restart) == 1
    assert (interrupted.status, interrupted.attempts) == ("pending", 1)
    assert current.status == "running"
    again = await jobs.claim_job(session, job_id=interrupted.id)
    assert again is not None and again.attempts == 2


async def test_job_audio_keys_of_a_voice(session: AsyncSession, make_job, make_voice, key_id: str):
    voice, other = await make_voice(key_id=key_id), await make_voice(key_id=key_id)
    done = await make_job(key_id=key_id, voice_id=voice.id)
    await make_job(key_id=key_id, voice_id=voice.id)  # still pending: no audio yet
    elsewhere = await make_job(key_id=key_id, voice_id=other.id)
    await jobs.finish_job(session, job_id=done.id, status=JobStatus.READY, audio_key="jobs/a.wav")
    await jobs.finish_job(
        session, job_id=elsewhere.id, status=JobStatus.READY, audio_key="jobs/b.wav"
    )
    assert await jobs.list_job_audio_keys(session, voice_id=voice.id) == ["jobs/a.wav"]


# --- leases: many workers on many hosts -----------------------------------------------------


async def _set_heartbeat(session: AsyncSession, job: Job, when: datetime) -> None:
    job.heartbeat_at = when
    await session.flush()


async def test_a_claim_starts_the_lease_and_names_the_worker(session: AsyncSession, job: Job):
    claimed = await jobs.claim_job(session, job_id=job.id, worker="gpu-1:42")
    assert claimed is job
    assert job.worker == "gpu-1:42"
    assert job.heartbeat_at is not None and job.heartbeat_at == job.started_at


async def test_a_live_lease_keeps_a_long_job_from_being_claimed(session: AsyncSession, job: Job):
    await jobs.claim_job(session, job_id=job.id)
    await _set_heartbeat(session, job, utcnow())
    job.started_at = utcnow() - timedelta(hours=1)  # started long ago, but still beating
    await session.flush()
    lease_start = utcnow() - timedelta(seconds=60)
    assert await jobs.claim_job(session, job_id=job.id, stale_before=lease_start) is None


async def test_an_expired_lease_lets_another_worker_claim(session: AsyncSession, job: Job):
    await jobs.claim_job(session, job_id=job.id, worker="a:1")
    await _set_heartbeat(session, job, utcnow() - timedelta(seconds=61))
    lease_start = utcnow() - timedelta(seconds=60)
    again = await jobs.claim_job(session, job_id=job.id, stale_before=lease_start, worker="b:2")
    assert again is job and (job.attempts, job.worker) == (2, "b:2")


async def test_heartbeat_renews_only_the_current_claim(session: AsyncSession, job: Job):
    assert await jobs.heartbeat(session, job_id=job.id, attempt=1) is False  # not running
    await jobs.claim_job(session, job_id=job.id)
    await _set_heartbeat(session, job, utcnow() - timedelta(seconds=30))
    before = utcnow()
    assert await jobs.heartbeat(session, job_id=job.id, attempt=1) is True
    assert job.heartbeat_at is not None and job.heartbeat_at >= before
    await jobs.claim_job(session, job_id=job.id, stale_before=utcnow() + timedelta(seconds=1))
    assert await jobs.heartbeat(session, job_id=job.id, attempt=1) is False  # reclaimed
    assert await jobs.heartbeat(session, job_id=job.id, attempt=2) is True
    await jobs.cancel_job(session, job_id=job.id)
    assert await jobs.heartbeat(session, job_id=job.id, attempt=2) is False


async def test_a_replaced_worker_cannot_finish_the_job(session: AsyncSession, job: Job):
    await jobs.claim_job(session, job_id=job.id)
    await jobs.claim_job(session, job_id=job.id, stale_before=utcnow() + timedelta(seconds=1))
    late = await jobs.finish_job(
        session, job_id=job.id, status=JobStatus.READY, audio_key="jobs/old.wav", attempt=1
    )
    assert late is False and job.status == "running"
    assert await jobs.finish_job(
        session, job_id=job.id, status=JobStatus.READY, audio_key="jobs/new.wav", attempt=2
    )
    assert (job.status, job.audio_key) == ("ready", "jobs/new.wav")


async def test_lost_job_candidates_are_old_pending_and_stale_running_jobs(
    session: AsyncSession, make_job, key_id: str
):
    old, fresh, beating, stale, done = [await make_job(key_id=key_id) for _ in range(5)]
    now = utcnow()
    for made in (old, beating, stale, done):
        made.created_at = now - timedelta(minutes=5)
    await session.flush()
    for running in (beating, stale):
        await jobs.claim_job(session, job_id=running.id)
    await _set_heartbeat(session, stale, now - timedelta(seconds=90))
    await jobs.finish_job(session, job_id=done.id, status=JobStatus.READY)

    found = await jobs.list_lost_job_candidates(
        session,
        created_before=now - timedelta(seconds=10),
        stale_before=now - timedelta(seconds=60),
    )
    assert set(found) == {old.id, stale.id}
    assert fresh.id not in found and beating.id not in found
    only = await jobs.list_lost_job_candidates(
        session,
        created_before=now - timedelta(seconds=10),
        stale_before=now - timedelta(seconds=60),
        among=[stale.id, fresh.id],
    )
    assert only == [stale.id]
