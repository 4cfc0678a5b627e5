"""Text to speech in a stored voice: the cache, synchronous and streamed synthesis, and jobs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import (
    SUPPORTED_OUTPUT_FORMATS,
    StreamEncoder,
    check_stream_format,
    concat_with_crossfade,
    encode_audio,
    media_type,
)
from voxclone.config import LimitSettings
from voxclone.core.errors import (
    EngineUnavailable,
    InvalidInput,
    InvalidText,
    MissingField,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    UnknownModel,
    UnsupportedFormat,
    VoxcloneError,
)
from voxclone.core.types import Audio, JobKind, JobStatus, new_id
from voxclone.db import cache as cache_queries
from voxclone.db import jobs as job_queries
from voxclone.db.tables import Job, Voice
from voxclone.engines.base import SynthesisParams, TTSEngine
from voxclone.engines.registry import EngineRegistry
from voxclone.engines.text import split_sentences
from voxclone.queue.base import JobQueue
from voxclone.services.cache_hits import HitCounter
from voxclone.services.metrics import Metrics
from voxclone.services.streaming import (
    EngineChunks,
    SynthesisStream,
    encoded_pieces,
    one_piece,
)
from voxclone.services.synthesis_request import (
    MAX_SAMPLE_RATE,
    MAX_SPEED,
    MIN_SAMPLE_RATE,
    MIN_SPEED,
    OPENAI_TTS_MODELS,
    QueuedJob,
    SynthesisRequest,
    SynthesizedAudio,
    cache_key,
)
from voxclone.services.voices import VoiceService, check_language, check_ready
from voxclone.storage.base import BlobStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Plan:
    voice: Voice
    engine: TTSEngine
    lang: str
    params: SynthesisParams
    fmt: str
    sample_rate: int | None
    text: str
    key: str
    extra: dict[str, Any] = field(default_factory=dict)


ProgressSink = Callable[[float], Awaitable[None]]
T = TypeVar("T")


class SynthesisService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        engines: EngineRegistry,
        voices: VoiceService,
        queue: JobQueue,
        limits: LimitSettings,
        cache_enabled: bool = True,
        hit_flush_s: float = 5.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._engines = engines
        self._voices = voices
        self._queue = queue
        self._limits = limits
        self._cache_enabled = cache_enabled
        self.hits = HitCounter(sessions, interval_s=hit_flush_s)
        self._metrics = metrics or Metrics()

    async def close(self) -> None:
        """Write the cache hits counted in memory."""
        await self.hits.close()

    # --- validation --------------------------------------------------------------------------

    def check_text(self, text: str | None, *, field: str = "text") -> str:
        """``text`` if it holds 1 to ``max_text_chars`` characters; errors name ``field``."""
        if text is None or not text.strip():
            raise MissingField(f"{field} is required and must not be empty", field=field)
        if len(text) > self._limits.max_text_chars:
            raise InvalidText(
                f"{field} is {len(text)} characters long; at most "
                f"{self._limits.max_text_chars} are allowed",
                field=field,
                length=len(text),
                max_chars=self._limits.max_text_chars,
            )
        return text

    def backend_for_model(self, model: str) -> str | None:
        """The TTS engine an OpenAI-style ``model`` means: OpenAI's names (``tts-1``…) mean
        None, the voice's own backend; otherwise ``model`` must name a TTS engine."""
        name = model.strip()
        if not name:
            raise MissingField("model is required and must not be empty", field="model")
        if name in OPENAI_TTS_MODELS:
            return None
        if name not in self._engines.names("tts"):
            known = [*OPENAI_TTS_MODELS, *self._engines.names("tts")]
            raise UnknownModel(
                f"unknown text-to-speech model {name!r}; known: {', '.join(known)}",
                model=name,
                known=known,
            )
        return name

    async def _plan(self, *, key_id: str, req: SynthesisRequest) -> _Plan:
        text = self.check_text(req.text)
        voice, engine, lang = await self.check(key_id=key_id, req=req)
        params = req.params(lang)
        key = cache_key(
            voice_id=voice.id,
            text=text,
            lang=lang,
            backend=engine.name,
            params={**params.cache_fields(), "format": req.format, "sample_rate": req.sample_rate},
            engine_version=engine.version,
        )
        return _Plan(voice, engine, lang, params, req.format, req.sample_rate, text, key)

    async def check(self, *, key_id: str, req: SynthesisRequest) -> tuple[Voice, TTSEngine, str]:
        """Everything synthesizing ``req`` checks but its text (the format, speed and rate, the
        key's voice and that it is ready, the engine, the language), so that a stream of text
        still to come can be refused up front. Returns the voice, the engine and the language."""
        if req.format not in SUPPORTED_OUTPUT_FORMATS:
            raise UnsupportedFormat(
                f"format {req.format!r} is not supported; use one of "
                f"{', '.join(SUPPORTED_OUTPUT_FORMATS)}",
                format=req.format,
            )
        if not MIN_SPEED <= req.speed <= MAX_SPEED:
            raise InvalidInput(
                f"speed {req.speed} is outside {MIN_SPEED}–{MAX_SPEED}", field="speed"
            )
        if req.sample_rate is not None and not (
            MIN_SAMPLE_RATE <= req.sample_rate <= MAX_SAMPLE_RATE
        ):
            raise InvalidInput(
                f"sample_rate {req.sample_rate} is outside {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE}",
                field="sample_rate",
            )
        voice = await self._voices.get(key_id=key_id, voice_id=req.voice_id)
        check_ready(voice)
        engine = self._resolve_engine(req.backend or voice.backend)
        lang = req.lang or voice.lang
        check_language(engine, lang)
        return voice, engine, lang

    # --- the cache ---------------------------------------------------------------------------

    async def _cached(self, plan: _Plan, *, counted: bool = True) -> SynthesizedAudio | None:
        """The cached audio for ``plan``, if any; ``counted`` lookups are a client's request
        (a job looking again before it renders is not)."""
        if not self._cache_enabled:
            return None
        hit = await self._lookup(plan)
        if counted:
            self._metrics.note_cache_lookup(hit=hit is not None)
        return hit

    async def _lookup(self, plan: _Plan) -> SynthesizedAudio | None:
        async with self._sessions() as session:
            entry = await cache_queries.get_entry(session, cache_key=plan.key)
            if entry is None:
                return None
        if not await self._blobs.exists(entry.audio_key):
            log.warning("cache entry %s has no audio; dropping it", plan.key)
            async with self._sessions() as session:
                await cache_queries.delete_entry(session, cache_key=plan.key)
                await session.commit()
            return None
        self.hits.note(plan.key)
        return SynthesizedAudio(
            data=await self._blobs.get(entry.audio_key),
            media_type=media_type(plan.fmt),
            duration_s=entry.audio_duration_s,
            voice_id=plan.voice.id,
            backend=entry.backend,
            synthesis_ms=entry.synthesis_ms,
            cache_hit=True,
        )

    async def _store(self, plan: _Plan, result: SynthesizedAudio) -> str | None:
        if not self._cache_enabled:
            return None
        blob_key = f"voices/{plan.voice.id}/cache/{plan.key}.{plan.fmt}"
        await self._blobs.put(blob_key, result.data)
        async with self._sessions() as session:
            await cache_queries.put_entry(
                session,
                cache_key=plan.key,
                voice_id=plan.voice.id,
                backend=plan.engine.name,
                audio_key=blob_key,
                audio_duration_s=result.duration_s,
                synthesis_ms=result.synthesis_ms,
            )
            await session.commit()
        return blob_key

    # --- routing -----------------------------------------------------------------------------

    def _resolve_engine(self, name: str) -> TTSEngine:
        """The engine ``name``, or the first of its fallbacks that loads if it cannot load."""
        try:
            return self._engines.get_tts(name)
        except EngineUnavailable as exc:
            current, seen = name, {name}
            while (current := self._engines.fallback(current) or "") and current not in seen:
                seen.add(current)
                try:
                    engine = self._engines.get_tts(current)
                except EngineUnavailable:
                    continue
                log.warning("backend %s cannot load (%s); using %s", name, exc.message, current)
                return engine
            raise

    async def _render_routed(
        self, plan: _Plan, *, progress: ProgressSink | None = None
    ) -> tuple[_Plan, SynthesizedAudio]:
        return await self._routed(plan, lambda served: self._render(served, progress=progress))

    async def _routed(
        self, plan: _Plan, attempt: Callable[[_Plan], Awaitable[T]]
    ) -> tuple[_Plan, T]:
        """``attempt`` the plan's engine; when it is down, its fallback, and so on down the chain.

        "Down" means a remote engine with no URL left that answered (``ProviderError`` other
        than a 4xx refusal, ``ProviderTimeout``) or an engine that cannot load. Returns the plan
        that served, whose engine names the backend in ``X-Backend`` and keys the cache. When
        every fallback fails too, the first engine's error is raised, listing what they said.
        """
        try:
            return plan, await attempt(plan)
        except (ProviderError, ProviderTimeout, EngineUnavailable) as exc:
            if isinstance(exc, ProviderRejected):
                raise
            failure: VoxcloneError = exc
        tried: dict[str, str] = {}
        current = plan.engine.name
        while (current := self._engines.fallback(current) or "") and current not in tried:
            if current == plan.engine.name:
                break
            try:
                fallback = self._replan(plan, self._engines.get_tts(current))
                log.warning(
                    "backend %s is down (%s); falling back to %s",
                    plan.engine.name,
                    failure.message,
                    current,
                )
                return fallback, await attempt(fallback)
            except VoxcloneError as exc:
                tried[current] = exc.message
        if tried:
            failure.details["fallbacks"] = tried
        raise failure

    def _replan(self, plan: _Plan, engine: TTSEngine) -> _Plan:
        check_language(engine, plan.lang)
        key = cache_key(
            voice_id=plan.voice.id,
            text=plan.text,
            lang=plan.lang,
            backend=engine.name,
            params={
                **plan.params.cache_fields(),
                "format": plan.fmt,
                "sample_rate": plan.sample_rate,
            },
            engine_version=engine.version,
        )
        return _Plan(
            plan.voice, engine, plan.lang, plan.params, plan.fmt, plan.sample_rate, plan.text, key
        )

    # --- rendering ---------------------------------------------------------------------------

    async def _render(
        self, plan: _Plan, *, progress: ProgressSink | None = None
    ) -> SynthesizedAudio:
        started = time.perf_counter()
        prompt = await self._voices.prompt_for(plan.voice, plan.engine)
        return await self.render(
            engine=plan.engine,
            text=plan.text,
            prompt=prompt,
            params=plan.params,
            fmt=plan.fmt,
            sample_rate=plan.sample_rate,
            voice_id=plan.voice.id,
            progress=progress,
            started=started,
        )

    async def render(
        self,
        *,
        engine: TTSEngine,
        text: str,
        prompt: dict[str, Any],
        params: SynthesisParams,
        fmt: str = "wav",
        sample_rate: int | None = None,
        voice_id: str | None = None,
        progress: ProgressSink | None = None,
        started: float | None = None,
    ) -> SynthesizedAudio:
        """Run the engine on ``text`` with a ready prompt, join the chunks and encode them."""
        started = started if started is not None else time.perf_counter()
        expected = max(1, len(split_sentences(text)))
        chunks = await self._collect(engine, text, prompt, params, expected, progress)
        result = await _joined(
            chunks,
            engine=engine,
            fmt=fmt,
            sample_rate=sample_rate,
            voice_id=voice_id,
            started=started,
        )
        self._metrics.note_synthesis(
            backend=engine.name,
            audio_s=result.duration_s,
            wall_s=time.perf_counter() - started,
            characters=len(text),
        )
        return result

    @staticmethod
    async def _collect(
        engine: TTSEngine,
        text: str,
        prompt: dict[str, Any],
        params: SynthesisParams,
        expected: int,
        progress: ProgressSink | None,
    ) -> list[Audio]:
        """Run the engine off the event loop, chunk by chunk, reporting progress between."""
        steps = EngineChunks(engine, text, prompt, params)
        chunks = [await steps.first()]
        while True:
            if progress is not None:
                await progress(min(len(chunks) / expected, 0.99))
            chunk = await anext(steps, None)
            if chunk is None:
                return chunks
            chunks.append(chunk)

    # --- entry points ------------------------------------------------------------------------

    async def request(
        self, *, key_id: str, req: SynthesisRequest, callback_url: str | None = None
    ) -> SynthesizedAudio | QueuedJob:
        """Afterwords semantics: a cache hit returns audio now; a miss queues a job, whose end
        is POSTed to ``callback_url`` (checked by the caller) when one is given."""
        plan = await self._plan(key_id=key_id, req=req)
        hit = await self._cached(plan)
        if hit is not None:
            return hit
        job_id = new_id()
        async with self._sessions() as session:
            await job_queries.create_job(
                session,
                id=job_id,
                key_id=key_id,
                voice_id=plan.voice.id,
                kind=JobKind.SYNTHESIZE,
                params={
                    "text": plan.text,
                    "lang": plan.lang,
                    "backend": plan.engine.name,
                    "format": plan.fmt,
                    "sample_rate": plan.sample_rate,
                    "speed": req.speed,
                    "seed": req.seed,
                    "temperature": req.temperature,
                },
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
        self, *, key_id: str, req: SynthesisRequest, progress: ProgressSink | None = None
    ) -> SynthesizedAudio:
        """Synchronous synthesis, through the same cache as jobs."""
        plan = await self._plan(key_id=key_id, req=req)
        hit = await self._cached(plan)
        if hit is not None:
            return hit
        served, result = await self._render_routed(plan, progress=progress)
        await self._store(served, result)
        return result

    async def stream(self, *, key_id: str, req: SynthesisRequest) -> SynthesisStream:
        """Synchronous synthesis sent as it is made, in one of STREAM_FORMATS; the same checks,
        cache and cache key as ``synthesize_now``.

        A cache hit is the cached file. On a miss the first chunk is synthesized before this
        returns, so anything that fails before there is audio (the voice, the engine, the
        fallback chain) raises here as usual; fallbacks are tried only up to that chunk. The
        rest is synthesized as ``pieces`` is iterated; once all of it was sent, the whole
        file, encoded as ``synthesize_now`` would have, goes into the cache.
        """
        check_stream_format(req.format)
        plan = await self._plan(key_id=key_id, req=req)
        hit = await self._cached(plan)
        if hit is not None:
            return SynthesisStream(
                pieces=one_piece(hit.data),
                media_type=hit.media_type,
                voice_id=plan.voice.id,
                backend=hit.backend,
                cache_hit=True,
                duration_s=hit.duration_s,
                synthesis_ms=hit.synthesis_ms,
            )
        started = time.perf_counter()
        served, (chunks, first) = await self._routed(plan, self._first_chunk)
        encoder = StreamEncoder(plan.fmt, sample_rate=plan.sample_rate or first.sample_rate)
        try:
            head = await asyncio.to_thread(encoder.encode, first)
        except BaseException:
            encoder.close()
            raise

        async def completed(audio: list[Audio]) -> None:
            self._metrics.note_synthesis(
                backend=served.engine.name,
                audio_s=sum(chunk.duration_s for chunk in audio),
                wall_s=time.perf_counter() - started,
                characters=len(plan.text),
            )
            if not self._cache_enabled:
                return
            joined = await _joined(
                audio,
                engine=served.engine,
                fmt=plan.fmt,
                sample_rate=plan.sample_rate,
                voice_id=plan.voice.id,
                started=started,
            )
            await self._store(served, joined)

        return SynthesisStream(
            pieces=encoded_pieces(
                chunks=chunks,
                first=first,
                encoder=encoder,
                head=head,
                completed=completed,
                label=f"stream of voice {plan.voice.id} on {served.engine.name}",
            ),
            media_type=media_type(plan.fmt),
            voice_id=plan.voice.id,
            backend=served.engine.name,
            cache_hit=False,
        )

    async def _first_chunk(self, plan: _Plan) -> tuple[EngineChunks, Audio]:
        prompt = await self._voices.prompt_for(plan.voice, plan.engine)
        chunks = EngineChunks(plan.engine, plan.text, prompt, plan.params)
        return chunks, await chunks.first()

    async def run(self, job: Job) -> None:
        """Run a claimed synthesis job (called by the JobRunner)."""
        p = job.params
        req = SynthesisRequest(
            voice_id=job.voice_id or "",
            text=p["text"],
            lang=p["lang"],
            backend=p["backend"],
            format=p["format"],
            sample_rate=p.get("sample_rate"),
            speed=p.get("speed", 1.0),
            seed=p.get("seed"),
            temperature=p.get("temperature"),
        )
        plan = await self._plan(key_id=job.key_id, req=req)
        result = await self._cached(plan, counted=False)  # request() counted the lookup
        if result is None:
            served, result = await self._render_routed(plan, progress=self._job_progress(job.id))
            await self._store(served, result)
        job_audio = f"jobs/{job.id}.{plan.fmt}"
        await self._blobs.put(job_audio, result.data)
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


async def _joined(
    chunks: list[Audio],
    *,
    engine: TTSEngine,
    fmt: str,
    sample_rate: int | None,
    voice_id: str | None,
    started: float,
) -> SynthesizedAudio:
    """The chunks joined and encoded as one file: a synchronous result, or a stream's cache."""
    audio = concat_with_crossfade(chunks)
    data = await asyncio.to_thread(encode_audio, audio, fmt, sample_rate=sample_rate)
    return SynthesizedAudio(
        data=data,
        media_type=media_type(fmt),
        duration_s=round(audio.duration_s, 3),
        voice_id=voice_id,
        backend=engine.name,
        synthesis_ms=round((time.perf_counter() - started) * 1000),
        cache_hit=False,
    )


class JobCancelled(Exception):
    """Raised inside a job when its row says it was cancelled."""
