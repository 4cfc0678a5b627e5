"""The history recorder: a synthesis job that ends ready without passing the pipeline's record
step (a callback engine's job, completed from outside) still becomes one item, sharing the
job's audio; a job that did pass it is not recorded twice; other jobs leave none. Real
services on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from voxclone.core.types import JobKind, JobStatus, new_id
from voxclone.db import jobs as job_queries
from voxclone.db.history import HistoryFilter
from voxclone.db.tables import HistoryItem
from voxclone.services.container import Services

PARAMS = {"text": "Called back.", "lang": "en", "backend": "serverless", "format": "wav"}


@pytest.fixture
async def started(services: Services) -> AsyncIterator[Services]:
    await services.start(run_jobs=False)
    yield services
    await services.close()


async def finished_job(services: Services, key_id: str, *, kind: JobKind, status: JobStatus) -> str:
    job_id = new_id()
    await services.blobs.put(f"jobs/{job_id}.wav", b"RIFF-called-back")
    async with services.sessions() as session:
        await job_queries.create_job(session, id=job_id, key_id=key_id, kind=kind, params=PARAMS)
        await job_queries.finish_job(
            session,
            job_id=job_id,
            status=status,
            audio_key=f"jobs/{job_id}.wav",
            audio_duration_s=1.5,
        )
        await session.commit()
    await services.job_events.finished(job_id)
    return job_id


async def items(services: Services, key_id: str) -> list[HistoryItem]:
    page = await services.history.page(key_id=key_id, filter=HistoryFilter(), limit=100)
    return list(page.items)


async def test_a_job_completed_from_outside_becomes_one_item(started: Services) -> None:
    key_id = (await started.keys.create(label="k")).record.id
    job_id = await finished_job(started, key_id, kind=JobKind.SYNTHESIZE, status=JobStatus.READY)
    [item] = await items(started, key_id)
    assert (item.job_id, item.entry, item.text, item.backend) == (
        job_id,
        "job",
        "Called back.",
        "serverless",
    )
    assert item.audio_key == f"jobs/{job_id}.wav"
    data, fmt = await started.history.audio(key_id=key_id, history_id=item.id)
    assert (data, fmt) == (b"RIFF-called-back", "wav")
    await started.job_events.finished(job_id)  # told again: still one item
    assert len(await items(started, key_id)) == 1


async def test_failed_and_other_jobs_leave_no_item(started: Services) -> None:
    key_id = (await started.keys.create(label="k")).record.id
    await finished_job(started, key_id, kind=JobKind.SYNTHESIZE, status=JobStatus.FAILED)
    await finished_job(started, key_id, kind=JobKind.FIT_VOICE, status=JobStatus.READY)
    assert await items(started, key_id) == []
