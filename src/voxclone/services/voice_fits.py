"""Where a fit lands on its voice: the first fit, and refits after its samples changed.

A voice's first fit (``fit_job_id`` in its meta) turns it from ``fitting`` to ``ready`` or
``failed``. A refit (a FIT_VOICE job with ``params["refit"]``, ``refit_job_id`` in the meta)
never changes the status: the voice stays ``ready`` and its old prompt serves until the new one
replaces it in one transaction; a failed refit keeps the old prompt and leaves its error in
``refit_error``. Only the voice's current fit or refit lands: a job superseded by a newer change
of the samples is ignored, whether it succeeds or fails. The voice row is locked while its meta
is read and written, so a refit that lands and a new change of samples cannot lose each other.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.core.types import VoiceStatus
from voxclone.db import jobs as job_queries
from voxclone.db import voices as voice_queries
from voxclone.db.tables import Job
from voxclone.engines.base import VoicePrompt

REFIT = "refit"
"""The job parameter that marks a FIT_VOICE job as a refit of a voice that is ready."""


def is_refit(job: Job) -> bool:
    return bool((job.params or {}).get(REFIT))


async def land_fit(
    session: AsyncSession,
    *,
    job: Job,
    voice_id: str,
    engine: str,
    engine_version: str,
    prompt: VoicePrompt,
) -> bool:
    """Store the fitted prompt and make the voice ready, if ``job`` is still its current fit
    or refit; False when it was superseded (or the voice is gone) and nothing changed."""
    voice = await voice_queries.lock_voice(session, voice_id=voice_id)
    if voice is None:
        return False
    meta = dict(voice.meta or {})
    if is_refit(job):
        if meta.get("refit_job_id") != job.id:
            return False
        meta.pop("refit_job_id", None)
        meta.pop("refit_error", None)
        meta["prompt_revision"] = job.id  # a new cache key: audio cached before is not reused
        # Other engines' prompts came from the old samples: they are recomputed on next use.
        await voice_queries.delete_prompts(session, voice_id=voice.id, keep_engine=engine)
    elif meta.get("fit_job_id", job.id) != job.id:
        return False
    await voice_queries.put_prompt(
        session, voice_id=voice.id, engine=engine, engine_version=engine_version, prompt=prompt
    )
    await voice_queries.update_voice(
        session, voice=voice, status=VoiceStatus.READY, progress=1.0, error=None, meta=meta
    )
    return True


async def note_fit_failed(
    session: AsyncSession, *, voice_id: str, error: str, job_id: str | None = None
) -> None:
    """Record that a fit failed: a first fit marks the voice ``failed``; a refit leaves it
    ``ready`` with ``refit_error``; a superseded job changes nothing."""
    voice = await voice_queries.lock_voice(session, voice_id=voice_id)
    if voice is None:
        return
    meta = dict(voice.meta or {})
    job = await job_queries.get_job(session, job_id=job_id) if job_id is not None else None
    if job is not None and is_refit(job):
        if meta.get("refit_job_id") == job.id:
            meta.pop("refit_job_id", None)
            meta["refit_error"] = error
            await voice_queries.update_voice(session, voice=voice, meta=meta)
        return
    if job_id is not None and meta.get("fit_job_id", job_id) != job_id:
        return
    await voice_queries.update_voice(session, voice=voice, status=VoiceStatus.FAILED, error=error)
