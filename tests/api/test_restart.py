"""A job interrupted by a restart is picked up on the next start, not left pending forever."""

from __future__ import annotations

from tests.conftest import fake_registry, make_settings, tone_wav
from voxclone.core.types import JobStatus
from voxclone.db import jobs as job_queries
from voxclone.services.container import build_services
from voxclone.services.keys import Principal


async def test_pending_and_running_jobs_resume_after_restart(tmp_path, database_url) -> None:
    settings = make_settings(tmp_path, database_url=database_url)
    first = build_services(settings, engines=fake_registry())
    await first.start(run_jobs=False)  # no workers: jobs stay queued, as when a process dies
    issued = await first.keys.create(label="t")
    key_id = issued.record.id
    voice = await first.voices.create(key_id=key_id, name="v", ref_audio=tone_wav())
    from voxclone.services.synthesis_request import QueuedJob, SynthesisRequest

    queued = [
        await first.synthesis.request(
            caller=Principal(key_id=key_id),
            req=SynthesisRequest(voice_id=voice.id, text=f"Number {i}."),
        )
        for i in range(3)
    ]
    assert all(isinstance(q, QueuedJob) for q in queued)
    ids = [q.job_id for q in queued if isinstance(q, QueuedJob)]
    async with first.sessions() as session:  # one was running when the process died
        assert await job_queries.claim_job(session, job_id=ids[0]) is not None
        await session.commit()
    await first.close()

    second = build_services(settings, engines=fake_registry())
    await second.start()
    try:
        await second.queue.join()  # type: ignore[attr-defined]
        for job_id in ids:
            job = await second.jobs.get(key_id=key_id, job_id=job_id)
            assert job.status == JobStatus.READY, (job_id, job.status, job.error)
        assert (await second.jobs.get(key_id=key_id, job_id=ids[0])).attempts == 2
    finally:
        await second.close()


async def test_a_job_interrupted_too_often_fails(tmp_path, database_url) -> None:
    from datetime import timedelta

    from voxclone.db.tables import utcnow
    from voxclone.services.synthesis_request import QueuedJob, SynthesisRequest

    settings = make_settings(tmp_path, database_url=database_url)
    first = build_services(settings, engines=fake_registry())
    await first.start(run_jobs=False)
    key_id = (await first.keys.create()).record.id
    voice = await first.voices.create(key_id=key_id, name="v", ref_audio=tone_wav())
    q = await first.synthesis.request(
        caller=Principal(key_id=key_id), req=SynthesisRequest(voice_id=voice.id, text="x.")
    )
    assert isinstance(q, QueuedJob)
    for _ in range(settings.jobs.max_attempts):  # started, then its process died, each time
        async with first.sessions() as session:
            later = utcnow() + timedelta(seconds=1)
            assert await job_queries.claim_job(session, job_id=q.job_id, stale_before=later)
            await session.commit()
    await first.close()

    second = build_services(settings, engines=fake_registry())
    await second.start()
    try:
        await second.queue.join()  # type: ignore[attr-defined]
        job = await second.jobs.get(key_id=key_id, job_id=q.job_id)
        assert job.status == JobStatus.FAILED, job.status
        assert "interrupted" in (job.error or "")
    finally:
        await second.close()
