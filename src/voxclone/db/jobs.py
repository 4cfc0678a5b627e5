"""Queries on jobs. Flush, never commit (see ``voxclone.db``).

A job's row is the truth about its state; the queue only carries ids and may deliver one
twice. State changes are therefore conditional UPDATEs: ``claim_job`` lets exactly one worker
take a job, and ``finish_job`` / ``cancel_job`` only ever move a job that is not yet terminal,
so a late worker cannot overwrite ``cancelled`` and a redelivered finished job stays finished.
Functions that return a ``Job`` re-read it, so the object shows what the database holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Update, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.core.types import JobKind, JobStatus
from voxclone.db.tables import Job, utcnow

UNFINISHED = (JobStatus.PENDING.value, JobStatus.RUNNING.value)
_NOT_FAILABLE = (JobStatus.FAILED.value, JobStatus.CANCELLED.value)


async def create_job(
    session: AsyncSession,
    *,
    id: str,
    key_id: str,
    kind: JobKind,
    params: dict[str, Any],
    voice_id: str | None = None,
    cache_key: str | None = None,
    callback_url: str | None = None,
) -> Job:
    """Add a pending job; ``callback_url`` is told when it ends (outbound webhook)."""
    job = Job(
        id=id,
        key_id=key_id,
        voice_id=voice_id,
        kind=JobKind(kind).value,
        status=JobStatus.PENDING.value,
        progress=0.0,
        params=dict(params),
        cache_key=cache_key,
        callback_url=callback_url,
        attempts=0,
    )
    session.add(job)
    await session.flush()
    return job


async def get_job(session: AsyncSession, *, job_id: str, key_id: str | None = None) -> Job | None:
    """The job, freshly read; with ``key_id``, only if it belongs to that key."""
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None or (key_id is not None and job.key_id != key_id):
        return None
    return job


async def claim_job(
    session: AsyncSession,
    *,
    job_id: str,
    stale_before: datetime | None = None,
    worker: str | None = None,
) -> Job | None:
    """Move the job to running for this worker, or return None if this worker may not run it.

    A pending job is claimed. A running job is claimed only when ``stale_before`` is given and
    its worker's last sign of life (``heartbeat_at``, or ``started_at`` if it never beat) is
    before then: that worker is presumed dead. Pass now minus the lease when many workers
    share the database, or the process's start time when this process is the only worker and
    resumes after a restart. Anything else (a terminal job, a running job whose lease is
    alive, a job handed to a callback engine, no such job) returns None.

    The test and the change are one UPDATE, so of two workers racing for a job exactly one
    wins. ``attempts`` goes up by one on each claim and identifies this claim: pass it back as
    ``attempt`` to ``heartbeat`` and ``finish_job``. The caller decides when it is too many.
    """
    claimable = Job.status == JobStatus.PENDING.value
    if stale_before is not None:
        last_seen = func.coalesce(Job.heartbeat_at, Job.started_at)
        stale = and_(_running_here(), last_seen < stale_before)
        claimable = or_(claimable, stale)
    now = utcnow()
    statement = (
        update(Job)
        .where(Job.id == job_id, claimable)
        .values(
            status=JobStatus.RUNNING.value,
            attempts=Job.attempts + 1,
            # progress is kept: a resumed job reports where it got to, never less (set_progress)
            started_at=now,
            heartbeat_at=now,
            worker=worker,
            error=None,
        )
        .returning(Job.id)
    )
    claimed = await _update(session, statement, job_id)
    return await session.get(Job, job_id) if claimed else None


async def heartbeat(session: AsyncSession, *, job_id: str, attempt: int) -> bool:
    """Renew the lease of claim ``attempt`` on a running job.

    False when that claim no longer holds the job: it was cancelled or finished, or its lease
    ran out and another worker claimed it. The worker should then stop working on it.
    """
    statement = (
        update(Job)
        .where(
            Job.id == job_id,
            Job.status == JobStatus.RUNNING.value,
            Job.attempts == attempt,
        )
        .values(heartbeat_at=utcnow())
        .returning(Job.id)
    )
    return await _update(session, statement, job_id)


async def set_progress(session: AsyncSession, *, job_id: str, progress: float) -> bool:
    """Record progress (clamped to 0..1) of a running job; False if it is no longer running.

    Progress never goes down: a job resumed after a restart starts its work again, and reports
    the furthest any attempt reached until this one passes it (its ``attempts`` tells which).
    """
    fraction = min(max(float(progress), 0.0), 1.0)
    statement = (
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING.value)
        .values(progress=case((Job.progress > fraction, Job.progress), else_=fraction))
        .returning(Job.id)
    )
    return await _update(session, statement, job_id)


async def release_job(session: AsyncSession, *, job_id: str, attempt: int) -> bool:
    """Hand a running job back (its worker is shutting down): pending again, at once claimable
    by another worker. The next claim is the next attempt (the client sees the restart), and
    progress is kept. False when claim ``attempt`` no longer holds the job."""
    statement = (
        update(Job)
        .where(
            Job.id == job_id,
            Job.status == JobStatus.RUNNING.value,
            Job.attempts == attempt,
        )
        .values(
            status=JobStatus.PENDING.value,
            worker=None,
            heartbeat_at=None,
        )
        .returning(Job.id)
    )
    return await _update(session, statement, job_id)


async def finish_job(
    session: AsyncSession,
    *,
    job_id: str,
    status: JobStatus,
    audio_key: str | None = None,
    audio_duration_s: float | None = None,
    error: str | None = None,
    attempt: int | None = None,
    result: dict[str, Any] | None = None,
) -> bool:
    """Move a pending or running job to the terminal ``status``; False if it already was terminal.

    ``status`` must be ready, failed or cancelled (ValueError otherwise). A ready job gets
    progress 1.0. With ``attempt`` (a worker finishing its claim), only while that claim still
    holds the job: a worker whose lease ran out and was replaced cannot finish it. ``result``
    (what a job produces other than audio) is stored in ``jobs.result`` when given.
    """
    status = JobStatus(status)
    if not status.terminal:
        raise ValueError(f"finish_job() needs a terminal status, got {status.value!r}")
    values: dict[str, Any] = {
        "status": status.value,
        "audio_key": audio_key,
        "audio_duration_s": audio_duration_s,
        "error": error,
        "completed_at": utcnow(),
    }
    if status is JobStatus.READY:
        values["progress"] = 1.0
    if result is not None:
        values["result"] = result
    held: ColumnElement[bool] = Job.status.in_(UNFINISHED)
    if attempt is not None:
        held = and_(Job.status == JobStatus.RUNNING.value, Job.attempts == attempt)
    statement = update(Job).where(Job.id == job_id, held).values(**values).returning(Job.id)
    return await _update(session, statement, job_id)


async def mark_failed(session: AsyncSession, *, job_id: str, error: str) -> bool:
    """Fail a job even if it is ready (its audio turned out to be missing); never a cancelled one.

    The audio columns are cleared. False when the job is missing, cancelled or already failed.
    """
    statement = (
        update(Job)
        .where(Job.id == job_id, Job.status.not_in(_NOT_FAILABLE))
        .values(
            status=JobStatus.FAILED.value,
            error=error,
            audio_key=None,
            audio_duration_s=None,
            completed_at=utcnow(),
        )
        .returning(Job.id)
    )
    return await _update(session, statement, job_id)


async def cancel_job(
    session: AsyncSession, *, job_id: str, key_id: str | None = None
) -> Job | None:
    """Cancel the job unless it is already terminal; returns it as it now stands.

    None when there is no such job (for ``key_id``, when given). The caller tells "cancelled
    now" from "had already finished" by the returned job's status.
    """
    job = await get_job(session, job_id=job_id, key_id=key_id)
    if job is None:
        return None
    await finish_job(session, job_id=job_id, status=JobStatus.CANCELLED)  # refreshes ``job``
    return job


async def release_stale_jobs(session: AsyncSession, *, started_before: datetime) -> int:
    """Put jobs that started running before ``started_before`` back to pending.

    At start-up, with the process's start time: those jobs' worker died with the last process.
    ``attempts`` is kept, so the next claim counts the interruption. Jobs awaiting a callback
    stay as they are (their work is elsewhere). Returns how many moved.
    """
    statement = (
        update(Job)
        .where(_running_here(), Job.started_at < started_before)
        .values(status=JobStatus.PENDING.value)
        .returning(Job.id)
    )
    options = {"synchronize_session": False}
    released = list((await session.execute(statement, execution_options=options)).scalars())
    for job_id in released:
        loaded = session.identity_map.get(session.identity_key(Job, job_id))
        if loaded is not None:
            await session.refresh(loaded)
    return len(released)


async def list_unfinished_job_ids(session: AsyncSession) -> list[str]:
    """Ids of pending and running jobs, oldest first (to resubmit after a restart)."""
    query = select(Job.id).where(Job.status.in_(UNFINISHED)).order_by(Job.created_at, Job.id)
    return list((await session.execute(query)).scalars())


async def list_lost_job_candidates(
    session: AsyncSession,
    *,
    created_before: datetime,
    stale_before: datetime,
    limit: int = 1000,
    among: Sequence[str] | None = None,
) -> list[str]:
    """Unfinished jobs a queue may have lost, oldest first: pending jobs created before
    ``created_before``, and running jobs whose lease ran out before ``stale_before``; with
    ``among``, only those ids.

    The sweep of the distributed mode asks the queue which of these it still holds and
    re-enqueues the rest (a redelivered id is harmless: claiming is idempotent).
    """
    pending = and_(Job.status == JobStatus.PENDING.value, Job.created_at < created_before)
    last_seen = func.coalesce(Job.heartbeat_at, Job.started_at)
    stale = and_(_running_here(), last_seen < stale_before)
    query = (
        select(Job.id)
        .where(Job.status.in_(UNFINISHED), or_(pending, stale))
        .order_by(Job.created_at, Job.id)
        .limit(limit)
    )
    if among is not None:
        query = query.where(Job.id.in_(list(among)))
    return list((await session.execute(query)).scalars())


def _running_here() -> ColumnElement[bool]:
    """Running on a worker of ours, whose lease says whether it is alive: not a job handed to
    a callback engine, which has no lease (it ends by its completion or its timeout)."""
    return and_(Job.status == JobStatus.RUNNING.value, Job.callback_secret_hash.is_(None))


async def await_callback(
    session: AsyncSession, *, job_id: str, attempt: int, secret_hash: str
) -> bool:
    """Mark claim ``attempt`` of a running job as handed to a callback engine: the job stays
    running, keyed by ``secret_hash`` (SHA-256 hex of its callback secret), until its
    completion or its timeout (counted from ``heartbeat_at``, set now). False when that
    claim no longer holds the job (it was cancelled, or reclaimed)."""
    statement = (
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING.value, Job.attempts == attempt)
        .values(callback_secret_hash=secret_hash, heartbeat_at=utcnow())
        .returning(Job.id)
    )
    return await _update(session, statement, job_id)


async def list_overdue_callbacks(
    session: AsyncSession, *, triggered_before: datetime, limit: int = 1000
) -> list[Job]:
    """Running jobs handed to a callback engine before ``triggered_before``, oldest first."""
    query = (
        select(Job)
        .where(
            Job.status == JobStatus.RUNNING.value,
            Job.callback_secret_hash.is_not(None),
            Job.heartbeat_at < triggered_before,
        )
        .order_by(Job.heartbeat_at, Job.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def list_job_audio_keys(session: AsyncSession, *, voice_id: str) -> list[str]:
    """Blob keys of every job audio made with the voice (to delete them with it)."""
    query = select(Job.audio_key).where(Job.voice_id == voice_id, Job.audio_key.is_not(None))
    return [key for key in (await session.execute(query)).scalars() if key is not None]


async def _update(session: AsyncSession, statement: Update, job_id: str) -> bool:
    """Run a conditional ``UPDATE ... RETURNING id``; True when it changed the row.

    A copy of the job already loaded in the session is re-read either way, so whoever holds
    it sees the row as it now is (changed by this call, or by someone else before it).
    """
    result = await session.execute(statement, execution_options={"synchronize_session": False})
    changed = result.first() is not None
    loaded = session.identity_map.get(session.identity_key(Job, job_id))
    if loaded is not None:
        await session.refresh(loaded)
    return changed


async def count_unfinished_jobs(session: AsyncSession, *, key_id: str) -> int:
    """Jobs of the key pending or running (what its concurrency limit counts)."""
    query = (
        select(func.count())
        .select_from(Job)
        .where(Job.key_id == key_id, Job.status.in_(UNFINISHED))
    )
    return int((await session.execute(query)).scalar_one())


async def list_jobs(
    session: AsyncSession,
    *,
    key_id: str,
    limit: int,
    kind: str | None = None,
    status: str | None = None,
    after: tuple[datetime, str] | None = None,
) -> list[Job]:
    """The key's jobs, newest first, after the cursor ``(created_at, id)``; up to ``limit``."""
    where: list[ColumnElement[bool]] = [Job.key_id == key_id]
    if kind is not None:
        where.append(Job.kind == kind)
    if status is not None:
        where.append(Job.status == status)
    if after is not None:
        at, last_id = after
        where.append(or_(Job.created_at < at, and_(Job.created_at == at, Job.id < last_id)))
    query = select(Job).where(*where).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())
