"""The sweep re-enqueues, from the database, the jobs a queue lost. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from tests.conftest import fake_registry, make_settings

from voxclone.core.errors import QueueUnavailable
from voxclone.core.types import JobKind, JobStatus, new_id
from voxclone.db import jobs as job_queries
from voxclone.db.tables import utcnow
from voxclone.services.container import Services, build_services
from voxclone.services.sweeper import JobSweeper


class FakeQueue:
    """Holds what it is told it holds; records what is submitted."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.submitted: list[str] = []
        self.down = False

    async def start(self, handler: object) -> None: ...

    async def submit(self, job_id: str) -> None:
        self.submitted.append(job_id)
        self.held.add(job_id)

    async def taken(self, job_id: str) -> None:
        self.held.discard(job_id)

    async def holding(self, job_ids: Sequence[str]) -> set[str]:
        if self.down:
            raise QueueUnavailable("down")
        return {j for j in job_ids if j in self.held}

    async def stop(self) -> None: ...

    @property
    def depth(self) -> int:
        return len(self.held)


@pytest.fixture
async def services(tmp_path: Path, database_url: str) -> AsyncIterator[Services]:
    svc = build_services(
        make_settings(tmp_path / "data", database_url=database_url), engines=fake_registry()
    )
    await svc.start(run_jobs=False)
    yield svc
    await svc.close()


async def _jobs(services: Services, n: int, *, age_s: float) -> list[str]:
    key_id = (await services.keys.create()).record.id
    ids = []
    async with services.sessions() as session:
        for _ in range(n):
            job = await job_queries.create_job(
                session, id=new_id(), key_id=key_id, kind=JobKind.SYNTHESIZE, params={}
            )
            job.created_at = utcnow() - timedelta(seconds=age_s)
            ids.append(job.id)
        await session.commit()
    return ids


def _sweeper(services: Services, queue: FakeQueue) -> JobSweeper:
    return JobSweeper(
        sessions=services.sessions, queue=queue, lease_s=60, requeue_after_s=10, interval_s=1
    )


async def test_pending_jobs_the_queue_lost_are_enqueued_again_once(services: Services):
    lost, waiting = await _jobs(services, 2, age_s=30)
    (fresh,) = await _jobs(services, 1, age_s=0)  # just created: its submit may be on its way
    queue = FakeQueue()
    queue.held.add(waiting)
    sweeper = _sweeper(services, queue)
    assert await sweeper.sweep() == [lost]
    assert await sweeper.sweep() == []  # now the queue holds it
    assert queue.submitted == [lost] and fresh not in queue.submitted


async def test_a_running_job_is_enqueued_again_only_when_its_lease_ran_out(services: Services):
    alive, dead = await _jobs(services, 2, age_s=300)
    async with services.sessions() as session:
        for job_id in (alive, dead):
            await job_queries.claim_job(session, job_id=job_id)
        job = await job_queries.get_job(session, job_id=dead)
        assert job is not None
        job.heartbeat_at = utcnow() - timedelta(seconds=61)
        await session.commit()
    queue = FakeQueue()
    assert await _sweeper(services, queue).sweep() == [dead]


async def test_finished_jobs_are_left_alone(services: Services):
    (done,) = await _jobs(services, 1, age_s=300)
    async with services.sessions() as session:
        await job_queries.finish_job(session, job_id=done, status=JobStatus.READY)
        await session.commit()
    assert await _sweeper(services, FakeQueue()).sweep() == []


async def test_a_job_claimed_while_the_sweep_looked_is_not_enqueued_again(services: Services):
    (job_id,) = await _jobs(services, 1, age_s=30)
    queue = FakeQueue()
    queue.held.add(job_id)
    real_holding = queue.holding

    async def claimed_meanwhile(job_ids: Sequence[str]) -> set[str]:
        held = await real_holding(job_ids)
        async with services.sessions() as session:  # a worker claims it, then says taken
            await job_queries.claim_job(session, job_id=job_id)
            await session.commit()
        await queue.taken(job_id)
        return held - {job_id}

    queue.holding = claimed_meanwhile  # type: ignore[method-assign]
    assert await _sweeper(services, queue).sweep() == []


async def test_a_sweep_says_when_the_queue_cannot_be_asked(services: Services):
    await _jobs(services, 1, age_s=30)
    queue = FakeQueue()
    queue.down = True
    with pytest.raises(QueueUnavailable):
        await _sweeper(services, queue).sweep()
