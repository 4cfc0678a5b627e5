"""The listeners that turn what happened into history items: every synthesis served (the
record step of the pipeline) and every synthesis job that ended ready without passing it (a
callback engine's). Edits, story renders and regenerations add their items themselves."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import SUPPORTED_OUTPUT_FORMATS, media_type
from voxclone.core.types import JobKind, JobStatus
from voxclone.db import history as queries
from voxclone.db import voices as voice_queries
from voxclone.db.tables import Job
from voxclone.services.history import REGENERATE, HistoryService, request_params
from voxclone.services.synthesis.record import SynthesisAct

_FORMATS = {media_type(fmt): fmt for fmt in SUPPORTED_OUTPUT_FORMATS}


class HistoryRecorder:
    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], history: HistoryService
    ) -> None:
        self._sessions = sessions
        self._history = history

    async def synthesis_served(self, act: SynthesisAct) -> None:
        """The record step's listener: an act that produced audio becomes an item (an
        interrupted stream, which has no whole file, does not)."""
        if not self._history.settings.enabled or act.entry == REGENERATE:
            return
        if act.audio is None and act.audio_key is None:
            return
        if act.job_id is not None and await self._has_job(act.key_id, act.job_id):
            return  # a job retried after a crash is recorded again: keep one item
        plan = act.plan
        if plan is not None:
            fmt = plan.fmt
        elif act.audio is not None:
            fmt = _FORMATS.get(act.audio.media_type, "wav")
        else:
            return
        if act.job_id is None and act.audio is not None:
            self._history.add_soon(  # no database write on the request path
                key_id=act.key_id,
                audio=act.audio.data,
                audio_format=fmt,
                duration_s=act.audio_s,
                entry=act.entry,
                text=act.text,
                voice_id=plan.voice.id if plan is not None else None,
                voice_name=plan.voice.name if plan is not None else None,
                lang=plan.lang if plan is not None else None,
                params=request_params(plan.request) if plan is not None else {"format": fmt},
                backend=act.backend,
                characters=len(act.text),
                cache_hit=act.cache_hit,
                audio_key=act.audio_key,
                item_id=None if act.cache_hit else act.audio.history_id,  # a hit: a new item
            )
            return
        await self._history.add(
            key_id=act.key_id,
            audio=act.audio.data if act.audio is not None else b"",
            audio_format=fmt,
            duration_s=act.audio_s,
            entry=act.entry,
            text=act.text,
            voice_id=plan.voice.id if plan is not None else None,
            voice_name=plan.voice.name if plan is not None else None,
            lang=plan.lang if plan is not None else None,
            params=request_params(plan.request) if plan is not None else {"format": fmt},
            backend=act.backend,
            job_id=act.job_id,
            characters=len(act.text),
            cache_hit=act.cache_hit,
            audio_key=act.audio_key,
            item_id=act.audio.history_id if act.audio is not None else None,
        )

    async def job_finished(self, job: Job) -> None:
        """A job's end (``JobEvents``): a synthesis job that ended ready without passing the
        record step (a callback engine's, completed by POST /v1/jobs/{id}/complete) becomes an
        item sharing the job's audio; one that did pass it already has its item."""
        if not self._history.settings.enabled or job.kind != JobKind.SYNTHESIZE.value:
            return
        if job.status != JobStatus.READY.value or job.audio_key is None:
            return
        if await self._has_job(job.key_id, job.id):
            return
        p = job.params
        async with self._sessions() as session:
            voice = await voice_queries.get_voice_by_id(session, voice_id=job.voice_id or "")
        await self._history.add(
            key_id=job.key_id,
            audio=b"",
            audio_format=str(p.get("format", "wav")),
            duration_s=job.audio_duration_s or 0.0,
            entry="job",
            text=str(p.get("text", "")),
            voice_id=job.voice_id,
            voice_name=voice.name if voice is not None else None,
            lang=p.get("lang"),
            params={k: p.get(k) for k in ("format", "sample_rate", "speed", "seed", "temperature")},
            backend=str(p.get("backend", "")),
            job_id=job.id,
            characters=len(str(p.get("text", ""))),
            audio_key=job.audio_key,
        )

    async def _has_job(self, key_id: str, job_id: str) -> bool:
        async with self._sessions() as session:
            return await queries.find_by_job(session, key_id=key_id, job_id=job_id) is not None
