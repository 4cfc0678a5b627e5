"""The job runner across hosts: leases, cancellation seen through the row, redelivery, and
telling the queue a job was taken. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from tests.conftest import fake_registry, make_settings, tone_wav

from voxclone.core.types import JobStatus, VoiceStatus
from voxclone.db import jobs as job_queries
from voxclone.db.tables import Job, utcnow
from voxclone.services.container import Services, build_services
from voxclone.services.keys import Principal
from voxclone.services.runner import JobRunner, worker_name
from voxclone.services.synthesis_request import QueuedJob, SynthesisRequest

LEASE = {"lease_s": 1.0, "heartbeat_s": 0.1}


class RecordingQueue:
    """A queue that runs nothing and remembers what it was told."""

    def __init__(self) -> None:
        self.submitted: list[str] = []
        self.taken_ids: list[str] = []

    async def start(self, handler: object) -> None: ...

    async def submit(self, job_id: str) -> None:
        self.submitted.append(job_id)

    async def taken(self, job_id: str) -> None:
        self.taken_ids.append(job_id)

    async def holding(self, job_ids: Sequence[str]) -> set[str]:
        return set()

    async def stop(self) -> None: ...

    @property
    def depth(self) -> int:
        return 0


async def _services(tmp_path: Path, database_url: str, **fake: object) -> Services:
    settings = make_settings(tmp_path / "data", database_url=database_url, jobs=LEASE)
    services = build_services(settings, engines=fake_registry(**fake))
    await services.start(run_jobs=False)
    return services


@pytest.fixture
async def host(tmp_path: Path, database_url: str) -> AsyncIterator[Services]:
    services = await _services(tmp_path, database_url, delay_s=0.3)
    yield services
    await services.close()


async def _queue_job(services: Services, text: str) -> tuple[str, str]:
    key_id = (await services.keys.create(label="t")).record.id
    voice = await services.voices.create(key_id=key_id, name="v", ref_audio=tone_wav())
    queued = await services.synthesis.request(
        caller=Principal(key_id=key_id), req=SynthesisRequest(voice_id=voice.id, text=text)
    )
    assert isinstance(queued, QueuedJob)
    return key_id, queued.job_id


async def _row(services: Services, job_id: str) -> Job:
    async with services.sessions() as session:
        job = await job_queries.get_job(session, job_id=job_id)
    assert job is not None
    return job


async def _until_running(services: Services, job_id: str) -> Job:
    deadline = time.monotonic() + 10
    while (job := await _row(services, job_id)).status != JobStatus.RUNNING:
        assert time.monotonic() < deadline, job.status
        await asyncio.sleep(0.02)
    return job


async def test_the_lease_is_renewed_while_the_job_runs(host: Services):
    _, job_id = await _queue_job(host, "One. Two. Three.")  # 3 x 0.3 s
    run = asyncio.create_task(host.runner(job_id))
    first = await _until_running(host, job_id)
    assert first.worker == worker_name()
    await asyncio.sleep(0.5)
    later = await _row(host, job_id)
    assert later.heartbeat_at is not None and first.heartbeat_at is not None
    assert later.heartbeat_at - first.heartbeat_at >= timedelta(seconds=0.3)
    await run
    assert (await _row(host, job_id)).status == JobStatus.READY


async def test_a_cancel_on_another_host_stops_the_job_without_waiting_for_the_engine(
    tmp_path: Path, database_url: str
):
    worker = await _services(tmp_path / "worker", database_url, delay_s=1.0)
    api = await _services(tmp_path / "api", database_url)  # an API host elsewhere
    try:
        key_id, job_id = await _queue_job(worker, "One sentence the engine takes 1 s on.")
        started = time.monotonic()
        run = asyncio.create_task(worker.runner(job_id))
        await _until_running(worker, job_id)
        await api.jobs.cancel(key_id=key_id, job_id=job_id)
        await asyncio.wait_for(run, timeout=5)
        assert time.monotonic() - started < 0.8  # seen by the lease renewal, mid-sentence
        job = await _row(worker, job_id)
        assert (job.status, job.audio_key) == ("cancelled", None)
    finally:
        await api.close()
        await worker.close()


async def test_a_fit_cancelled_elsewhere_fails_the_voice(tmp_path: Path, database_url: str):
    services = await _services(tmp_path, database_url, fitting=True, fit_delay_s=0.8)
    try:
        key_id = (await services.keys.create()).record.id
        voice = await services.voices.create(key_id=key_id, name="v", ref_audio=tone_wav())
        job_id = voice.meta["fit_job_id"]
        run = asyncio.create_task(services.runner(job_id))
        await _until_running(services, job_id)
        await services.jobs.cancel(key_id=key_id, job_id=job_id)
        await asyncio.wait_for(run, timeout=5)
        after = await services.voices.get(key_id=key_id, voice_id=voice.id)
        assert (after.status, after.error) == (VoiceStatus.FAILED, "fitting was cancelled")
    finally:
        await services.close()


async def test_a_worker_whose_lease_was_taken_over_stops(host: Services):
    _, job_id = await _queue_job(host, "A single long sentence that takes a while.")
    run = asyncio.create_task(host.runner(job_id))
    await _until_running(host, job_id)
    async with host.sessions() as session:  # another worker decided this one was dead
        taken = await job_queries.claim_job(
            session, job_id=job_id, stale_before=utcnow() + timedelta(seconds=1), worker="b:2"
        )
        await session.commit()
    assert taken is not None and taken.attempts == 2
    await asyncio.wait_for(run, timeout=0.28)
    job = await _row(host, job_id)
    assert (job.status, job.attempts, job.worker, job.audio_key) == ("running", 2, "b:2", None)


async def test_a_redelivered_job_that_finished_does_nothing(tmp_path: Path, database_url: str):
    services = await _services(tmp_path, database_url)
    try:
        _, job_id = await _queue_job(services, "Hello.")
        await services.runner(job_id)
        done = await _row(services, job_id)
        assert done.status == JobStatus.READY
        await services.runner(job_id)  # the same id, delivered again
        again = await _row(services, job_id)
        assert (again.status, again.attempts, again.completed_at) == (
            "ready",
            1,
            done.completed_at,
        )
    finally:
        await services.close()


async def test_the_queue_hears_when_a_job_was_taken_won_or_lost(host: Services):
    _, job_id = await _queue_job(host, "Hello.")
    queue = RecordingQueue()
    runner = JobRunner(
        sessions=host.sessions,
        synthesis=host.synthesis,
        voices=host.voices,
        max_attempts=3,
        lease_s=1.0,
        heartbeat_s=0.1,
        sole_worker=False,
        queue=queue,
    )
    await runner(job_id)
    await runner(job_id)  # not claimable any more: still taken off the queue
    assert queue.taken_ids == [job_id, job_id]
    assert (await _row(host, job_id)).attempts == 1


def test_a_heartbeat_must_fit_twice_in_the_lease(host: Services):
    with pytest.raises(ValueError, match="heartbeat_s"):
        JobRunner(
            sessions=host.sessions,
            synthesis=host.synthesis,
            voices=host.voices,
            max_attempts=3,
            lease_s=1.0,
            heartbeat_s=0.6,
        )
