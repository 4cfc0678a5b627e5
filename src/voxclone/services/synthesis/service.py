"""Text to speech in a stored voice, as one pipeline for every way in:
plan → admit → cache → route → render → record.

The ways in: ``request`` (POST /v1/synthesize: a cache hit now, else a job), ``synthesize_now``
(POST /v1/text-to-speech, OpenAI speech), ``stream`` (the /stream routes, OpenAI's
``stream: true``, each piece of the TTS WebSocket), ``run`` (the job), and ``oneshot`` (the
GPT-SoVITS proxy's clone without a stored voice: admit, render and record, no cache).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import StreamEncoder, check_stream_format, media_type
from voxclone.core.types import Audio, JobKind, JobStatus, new_id
from voxclone.db import jobs as job_queries
from voxclone.db.tables import Job, Voice
from voxclone.engines.base import SynthesisParams, TTSEngine
from voxclone.queue.base import JobQueue
from voxclone.services.callbacks import CallbackService
from voxclone.services.heavy_slots import held_until_closed
from voxclone.services.keys import Principal
from voxclone.services.stock_voices import StockVoice
from voxclone.services.streaming import SynthesisStream, encoded_pieces, one_piece
from voxclone.services.synthesis.admit import Admission, key_id_of
from voxclone.services.synthesis.cache import SynthesisCache
from voxclone.services.synthesis.plan import Plan, Planner, job_params, job_request
from voxclone.services.synthesis.record import Recorder, SynthesisAct
from voxclone.services.synthesis.render import ProgressSink, Renderer, joined
from voxclone.services.synthesis.route import Router
from voxclone.services.synthesis.timed import TimedAudio, TimedSynthesis
from voxclone.services.synthesis.timed_stream import TimedStream, stream_timed
from voxclone.services.synthesis_request import QueuedJob, SynthesisRequest, SynthesizedAudio
from voxclone.storage.base import BlobStore

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a job when its row says it was cancelled."""


class SynthesisService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        queue: JobQueue,
        planner: Planner,
        admission: Admission,
        cache: SynthesisCache,
        router: Router,
        renderer: Renderer,
        recorder: Recorder,
        callbacks: CallbackService | None = None,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._queue = queue
        self.planner = planner
        self.admission = admission
        self.cache = cache
        self.router = router
        self.renderer = renderer
        self.recorder = recorder
        self._callbacks = callbacks
        self._timed = TimedSynthesis(self, blobs)

    async def close(self) -> None:
        await self.cache.close()

    # --- checks the routes make before anything runs --------------------------------------------

    def check_text(self, text: str | None, *, field: str = "text") -> str:
        return self.planner.check_text(text, field=field)

    def backend_for_model(self, model: str) -> str | None:
        return self.planner.backend_for_model(model)

    async def check(
        self, *, key_id: str, req: SynthesisRequest
    ) -> tuple[Voice | StockVoice, TTSEngine, str]:
        return await self.planner.check(key_id=key_id, req=req)

    # --- the steps shared by every way in --------------------------------------------------------

    async def _admitted(self, caller: Principal, req: SynthesisRequest) -> Plan:
        """Plan and admit: the plan of a request the caller may have."""
        plan = await self.planner.plan(key_id=key_id_of(caller), req=req)
        await self.admission.admit(caller, characters=len(plan.text))
        return plan

    async def _rendered(
        self, plan: Plan, *, progress: ProgressSink | None = None
    ) -> tuple[Plan, SynthesizedAudio]:
        """Route and render: the audio, from the plan's engine or a fallback, then cached."""
        await self.planner.confirm(plan)
        served, result = await self.router.routed(
            plan,
            lambda p: self.renderer.render(p, progress=progress),
            self.planner.replan,
        )
        blob_key = await self.cache.store(served, result)
        return served, dataclasses.replace(result, blob_key=blob_key)

    async def _record(
        self,
        caller: Principal,
        plan: Plan,
        result: SynthesizedAudio,
        *,
        entry: str,
        requests: int = 1,
    ) -> None:
        await self.recorder.record(
            SynthesisAct(
                key_id=key_id_of(caller),
                entry=entry,
                text=plan.text,
                backend=result.backend,
                audio_s=result.duration_s,
                cache_hit=result.cache_hit,
                plan=plan,
                audio=result,
                requests=requests,
                audio_key=result.blob_key,
            )
        )

    async def record_streamed(
        self,
        caller: Principal,
        served: Plan,
        *,
        audio_s: float,
        whole: SynthesizedAudio | None,
        entry: str,
        requests: int = 1,
    ) -> None:
        """Record a synthesis sent as it was made: ``whole`` is the file it added up to (None
        when the stream ended early or could not be kept)."""
        await self.recorder.record(
            SynthesisAct(
                key_id=key_id_of(caller),
                entry=entry,
                text=served.text,
                backend=served.engine.name,
                audio_s=audio_s,
                cache_hit=False,
                plan=served,
                audio=whole,
                requests=requests,
                audio_key=whole.blob_key if whole is not None else None,
            )
        )

    # --- the ways in -----------------------------------------------------------------------------

    async def request(
        self, *, caller: Principal, req: SynthesisRequest, callback_url: str | None = None
    ) -> SynthesizedAudio | QueuedJob:
        """Afterwords semantics: a cache hit returns audio now; a miss queues a job, whose end
        is POSTed to ``callback_url`` (checked by the caller) when one is given."""
        plan = await self._admitted(caller, req)
        hit = await self.cache.lookup(plan)
        if hit is not None:
            await self._record(caller, plan, hit, entry="synthesize")
            return hit
        await self.admission.admit_job(caller)
        job_id = new_id()
        async with self._sessions() as session:
            await job_queries.create_job(
                session,
                id=job_id,
                key_id=key_id_of(caller),
                voice_id=None if isinstance(plan.voice, StockVoice) else plan.voice.id,
                kind=JobKind.SYNTHESIZE,
                params=job_params(plan),
                cache_key=plan.key,
                callback_url=callback_url,
            )
            await session.commit()
        await self._queue.submit(job_id)
        return QueuedJob(
            job_id=job_id,
            status=JobStatus.PENDING,
            voice_id=plan.voice.id,
            backend=plan.engine.name,
        )

    async def synthesize_now(
        self,
        *,
        caller: Principal,
        req: SynthesisRequest,
        entry: str = "sync",
        progress: ProgressSink | None = None,
        in_job: bool = False,
    ) -> SynthesizedAudio:
        """Synchronous synthesis, through the same cache as jobs. A miss holds one of the
        key's heavy slots unless it runs ``in_job`` (jobs are bounded by max_concurrent_jobs)."""
        plan = await self._admitted(caller, req)
        result = await self.cache.lookup(plan)
        if result is None:
            key_id = None if in_job else key_id_of(caller)
            async with self.admission.heavy.hold(key_id, work="synthesis"):
                plan, result = await self._rendered(plan, progress=progress)
        await self._record(caller, plan, result, entry=entry)
        return result

    async def stream(
        self,
        *,
        caller: Principal,
        req: SynthesisRequest,
        entry: str = "stream",
        requests: int = 1,
    ) -> SynthesisStream:
        """Synchronous synthesis sent as it is made, in one of STREAM_FORMATS; the same checks,
        cache and cache key as ``synthesize_now``.

        A cache hit is the cached file. On a miss the first chunk is synthesized before this
        returns, so anything that fails before there is audio (the voice, the engine, the
        fallback chain) raises here as usual; fallbacks are tried only up to that chunk. The
        rest is synthesized as ``pieces`` is iterated; once all of it was sent, the whole
        file, encoded as ``synthesize_now`` would have, goes into the cache. The act is
        recorded when the stream ends, with the audio made so far if the client went away.
        """
        check_stream_format(req.format)
        plan = await self._admitted(caller, req)
        hit = await self.cache.lookup(plan)
        if hit is not None:
            await self._record(caller, plan, hit, entry=entry, requests=requests)
            return SynthesisStream(
                pieces=one_piece(hit.data),
                media_type=hit.media_type,
                voice_id=plan.voice.id,
                backend=hit.backend,
                cache_hit=True,
                duration_s=hit.duration_s,
                synthesis_ms=hit.synthesis_ms,
            )
        release = await self.admission.heavy.take(key_id_of(caller), work="synthesis")
        try:
            stream = await self._stream_miss(caller, plan, entry=entry, requests=requests)
        except BaseException:
            await release()
            raise
        return dataclasses.replace(stream, pieces=held_until_closed(stream.pieces, release))

    async def _stream_miss(
        self, caller: Principal, plan: Plan, *, entry: str, requests: int
    ) -> SynthesisStream:
        await self.planner.confirm(plan)
        started = time.perf_counter()
        served, (chunks, first) = await self.router.routed(
            plan, self.renderer.first_chunk, self.planner.replan
        )
        marker = self.renderer.stream_marking(plan)  # the watermark: each chunk as it is made
        if marker is not None:
            first = await asyncio.to_thread(marker.mark_next, first)
        encoder = StreamEncoder(plan.fmt, sample_rate=plan.sample_rate or first.sample_rate)
        try:
            head = await asyncio.to_thread(encoder.encode, first)
        except BaseException:
            encoder.close()
            raise

        async def ended(audio: list[Audio], complete: bool) -> None:
            audio_s = sum(chunk.duration_s for chunk in audio)
            self.renderer.note_streamed(served, audio_s=audio_s, started=started)
            whole: SynthesizedAudio | None = None
            if complete:  # the whole file: cached, then kept by the record step (history)
                try:
                    whole = await joined(  # marked as one file, with the stream's id
                        audio if marker is None else marker.originals[: len(audio)],
                        engine=served.engine,
                        fmt=plan.fmt,
                        sample_rate=plan.sample_rate,
                        voice_id=plan.voice.id,
                        started=started,
                        mark=marker.mark_whole if marker is not None else None,
                    )
                    blob_key = await self.cache.store(served, whole)
                    whole = dataclasses.replace(
                        whole,
                        blob_key=blob_key,
                        history_id=marker.history_id if marker is not None else None,
                    )
                except Exception:  # the act is recorded (billed) all the same
                    log.exception("could not keep the audio of a stream of voice %s", plan.voice.id)
                    whole = None
            await self.record_streamed(
                caller, served, audio_s=audio_s, whole=whole, entry=entry, requests=requests
            )

        return SynthesisStream(
            pieces=encoded_pieces(
                chunks=chunks,
                first=first,
                encoder=encoder,
                head=head,
                ended=ended,
                label=f"stream of voice {plan.voice.id} on {served.engine.name}",
                mark=marker.mark_next if marker is not None else None,
            ),
            media_type=media_type(plan.fmt),
            voice_id=plan.voice.id,
            backend=served.engine.name,
            cache_hit=False,
        )

    async def synthesize_timed(
        self, *, caller: Principal, req: SynthesisRequest, entry: str = "sync"
    ) -> TimedAudio:
        """``synthesize_now`` with the alignment of the text (``timed``); 422
        timestamps_unsupported on an engine that cannot time its speech."""
        return await self._timed.synthesize(caller=caller, req=req, entry=entry)

    async def stream_timed(
        self, *, caller: Principal, req: SynthesisRequest, entry: str = "stream"
    ) -> TimedStream:
        """``stream`` with each piece's alignment, times from the start of the stream."""
        return await stream_timed(self._timed, caller=caller, req=req, entry=entry)

    async def oneshot(
        self,
        *,
        caller: Principal,
        engine: TTSEngine,
        text: str,
        prompt: dict[str, Any],
        params: SynthesisParams,
        started: float | None = None,
    ) -> SynthesizedAudio:
        """A clone without a stored voice: admitted and recorded, never cached."""
        self.planner.check_output(len(text), params.speed)
        await self.admission.admit(caller, characters=len(text))
        history_id, mark = self.renderer.marking(None)  # a clone: marked when the mark is on
        async with self.admission.heavy.hold(key_id_of(caller), work="synthesis"):
            result = await self.renderer.render_prompt(
                engine=engine, text=text, prompt=prompt, params=params, started=started, mark=mark
            )
        result = dataclasses.replace(result, history_id=history_id)
        await self.recorder.record(
            SynthesisAct(
                key_id=key_id_of(caller),
                entry="oneshot",
                text=text,
                backend=result.backend,
                audio_s=result.duration_s,
                cache_hit=False,
                audio=result,
            )
        )
        return result

    async def run(self, job: Job) -> None:
        """Run a claimed synthesis job (called by the JobRunner). Its act is recorded before
        the job is marked ready, keyed by the job: a retried job is billed once."""
        plan = await self.planner.plan(key_id=job.key_id, req=job_request(job))
        result = await self.cache.lookup(plan, counted=False)  # request() counted the lookup
        if result is None:
            callbacks = self._callbacks
            if callbacks is not None and callbacks.handles(plan.engine):
                assert isinstance(plan.voice, Voice)  # stock voices: built-in engines only
                await callbacks.hand_over(  # raises AwaitingCallback: the job ends later
                    job,
                    voice=plan.voice,
                    engine=plan.engine,
                    text=plan.text,
                    params=plan.params,
                    cache_key=plan.key,
                )
            plan, result = await self._rendered(plan, progress=self._job_progress(job.id))
        job_audio = f"jobs/{job.id}.{plan.fmt}"
        await self._blobs.put(job_audio, result.data)
        await self.recorder.record(
            SynthesisAct(
                key_id=job.key_id,
                entry="job",
                text=plan.text,
                backend=result.backend,
                audio_s=result.duration_s,
                cache_hit=result.cache_hit,
                plan=plan,
                audio=result,
                job_id=job.id,
                audio_key=result.blob_key or job_audio,
            )
        )
        async with self._sessions() as session:
            await job_queries.finish_job(
                session,
                job_id=job.id,
                status=JobStatus.READY,
                audio_key=job_audio,
                audio_duration_s=result.duration_s,
                attempt=job.attempts,
            )
            await session.commit()

    def _job_progress(self, job_id: str) -> ProgressSink:
        async def report(fraction: float) -> None:
            async with self._sessions() as session:
                job = await job_queries.get_job(session, job_id=job_id)
                if job is None or job.status == JobStatus.CANCELLED:
                    raise JobCancelled
                await job_queries.set_progress(session, job_id=job_id, progress=fraction)
                await session.commit()

        return report
