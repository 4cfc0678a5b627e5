"""Voices: a reference clip, its transcript, and the engines' prompts computed from it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import check_duration, decode_audio, media_type
from voxclone.config import LimitSettings
from voxclone.core.errors import (
    Conflict,
    InvalidId,
    InvalidInput,
    MissingField,
    NotFound,
    StockVoiceReadOnly,
    UnsupportedLanguage,
)
from voxclone.core.types import Audio, JobKind, JobStatus, VoiceStatus, new_id, parse_id
from voxclone.db import cache as cache_queries
from voxclone.db import jobs as job_queries
from voxclone.db import voices as voice_queries
from voxclone.db.tables import Job, Voice
from voxclone.engines.base import TTSEngine, VoicePrompt
from voxclone.engines.registry import EngineRegistry
from voxclone.queue.base import JobQueue
from voxclone.services.denoise import denoise_reference
from voxclone.services.prompt_cache import Key, PromptCache
from voxclone.services.state_cache import VOICES, TtlCache
from voxclone.services.stock_voices import StockVoice, StockVoices
from voxclone.services.transcription import TranscriptionService
from voxclone.services.voice_fits import land_fit, note_fit_failed
from voxclone.services.voice_profiles import (
    VoiceProfile,
    clean_description,
    clean_labels,
    clean_tags,
)
from voxclone.services.voice_references import VoiceReferences
from voxclone.storage.base import BlobStore

MAX_NAME_CHARS = 200
MAX_REF_TEXT_CHARS = 5000


def reference_key(voice_id: str, fmt: str) -> str:
    return f"voices/{voice_id}/ref.{fmt}"


def check_ready(voice: Voice) -> None:
    """Refuse to speak in a voice that is still being fitted or whose fitting failed."""
    if voice.status == VoiceStatus.FITTING:
        raise Conflict(
            f"voice {voice.id} is still being fitted ({round(voice.progress * 100)}% done); "
            "try again when its status is ready",
            voice_id=voice.id,
            status=voice.status,
            progress=voice.progress,
        )
    if voice.status == VoiceStatus.FAILED:
        raise Conflict(
            f"voice {voice.id} could not be fitted: {voice.error}; create it again with "
            "another reference clip",
            voice_id=voice.id,
            status=voice.status,
        )


def check_language(engine: TTSEngine, lang: str) -> None:
    supported = engine.capabilities().languages
    if lang not in supported:
        raise UnsupportedLanguage(
            f"language {lang!r} is not supported by backend {engine.name!r}; "
            f"supported: {', '.join(sorted(supported))}",
            lang=lang,
            backend=engine.name,
            supported=sorted(supported),
        )


@dataclass(frozen=True, slots=True)
class ReferenceDownload:
    chunks: AsyncIterator[bytes]
    media_type: str
    size: int


@dataclass(frozen=True, slots=True)
class VoiceUpdate:
    name: str | None = None
    family: str | None = None
    ref_text: str | None = None
    lang: str | None = None
    backend: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    labels: dict[str, str] | None = None


class VoiceService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        engines: EngineRegistry,
        limits: LimitSettings,
        default_backend: str,
        queue: JobQueue,
        transcription: TranscriptionService | None = None,
        cache_s: float = 0.0,
    ) -> None:
        self._transcription = transcription
        # (key id, voice as named) -> voice, for synthesis (``resolve_cached``).
        self._resolved: TtlCache[tuple[str, str], Voice | StockVoice] = TtlCache(
            VOICES, ttl_s=cache_s
        )
        """Transcribes references sent without ref_text (None: auto-transcription is off)."""
        self._sessions = sessions
        self._blobs = blobs
        self._engines = engines
        self._limits = limits
        self._default_backend = default_backend
        self._queue = queue
        self._prompts: PromptCache[Key] = PromptCache()
        self.references = VoiceReferences(sessions=sessions, blobs=blobs)
        """A voice's samples, joined into the one reference its engines are given."""
        self._delete_listeners: list[Callable[[Voice, bool], Awaitable[None]]] = []
        self.stock = StockVoices(engines, default_backend=default_backend)
        """The built-in engines' voices, every key's to speak in (stock_voices.py)."""

    def on_delete(self, listener: Callable[[Voice, bool], Awaitable[None]]) -> None:
        """Call ``listener(voice, purge_history)`` before a voice and its blobs are deleted
        (generation history keeps or purges its items); if it raises, nothing is deleted."""
        self._delete_listeners.append(listener)

    async def create(
        self,
        *,
        key_id: str,
        name: str,
        ref_audio: bytes,
        ref_text: str | None = None,
        backend: str | None = None,
        lang: str = "en",
        family: str | None = None,
        denoise: bool = False,
        profile: VoiceProfile | None = None,
        callback_url: str | None = None,
        admit_job: Callable[[], Awaitable[None]] | None = None,
    ) -> Voice:
        """Store a voice from its reference clip. On an engine that fits, the voice is
        ``fitting`` until its job ends, and ``callback_url`` (checked by the caller) is told
        when it does; other engines make the voice at once and have no job to tell about.
        ``admit_job`` is awaited before a fitting job is created (it raises to refuse it)."""
        name = _clean_name(name)
        backend = backend or self._default_backend
        engine = self._engines.get_tts(backend)
        check_language(engine, lang)
        decoded = decode_audio(ref_audio, max_seconds=self._limits.max_reference_seconds)
        check_duration(
            decoded.audio,
            min_s=self._limits.min_reference_seconds,
            max_s=self._limits.max_reference_seconds,
        )
        # denoise=true: the cleaned clip is what is transcribed, stored and fitted to.
        meta: dict[str, Any] = {}
        if denoise:
            decoded, ref_audio, meta = await denoise_reference(self._engines, decoded)
        # No ref_text: the default STT engine's transcript, if it hears any words.
        ref_text_auto = False
        if not (ref_text and ref_text.strip()) and self._transcription is not None:
            ref_text = await self._transcription.transcribe_reference(decoded.audio, language=lang)
            ref_text_auto = ref_text is not None
        voice_id = new_id()
        blob_key = reference_key(voice_id, decoded.format)
        await self._blobs.put(blob_key, ref_audio)
        fields: dict[str, Any] = {
            "id": voice_id,
            "key_id": key_id,
            "name": name,
            "backend": backend,
            "lang": lang,
            "family": family or None,
            "ref_text": ref_text or None,
            "ref_text_auto": ref_text_auto,
            "ref_audio_key": blob_key,
            "ref_format": decoded.format,
            "ref_duration_s": round(decoded.audio.duration_s, 3),
            "ref_sample_rate": decoded.sample_rate,
            **(profile or VoiceProfile()).columns(),
        }
        try:
            if engine.capabilities().fitting:
                if admit_job is not None:
                    await admit_job()
                # Refuse silence, noise, music or two voices now (422), not after the job ran.
                check = getattr(engine, "check_reference", None)
                if check is not None:
                    found = await asyncio.to_thread(check, decoded.audio)
                    meta["reference_checks"] = found if isinstance(found, dict) else {}
                return await self._create_fitting(fields, meta=meta, callback_url=callback_url)
            prompt = await asyncio.to_thread(
                engine.create_voice_prompt, decoded.audio, ref_text or None
            )
            async with self._sessions() as session:
                voice = await voice_queries.create_voice(
                    session, status=VoiceStatus.READY, progress=1.0, meta=meta, **fields
                )
                await voice_queries.put_prompt(
                    session,
                    voice_id=voice_id,
                    engine=backend,
                    engine_version=engine.version,
                    prompt=prompt,
                )
                await session.commit()
        except BaseException:
            await self._blobs.delete_prefix(f"voices/{voice_id}")
            raise
        return voice

    async def _create_fitting(
        self,
        fields: dict[str, Any],
        *,
        meta: dict[str, Any] | None = None,
        callback_url: str | None = None,
    ) -> Voice:
        """Store the voice as ``fitting`` and queue the job that fits the engine to it."""
        job_id = new_id()
        async with self._sessions() as session:
            voice = await voice_queries.create_voice(
                session,
                status=VoiceStatus.FITTING,
                progress=0.0,
                meta={**(meta or {}), "fit_job_id": job_id},
                **fields,
            )
            await job_queries.create_job(
                session,
                id=job_id,
                key_id=fields["key_id"],
                voice_id=fields["id"],
                kind=JobKind.FIT_VOICE,
                params={"backend": fields["backend"]},
                callback_url=callback_url,
            )
            await session.commit()
        await self._queue.submit(job_id)
        return voice

    async def run_fit(self, job: Job) -> None:
        """Fit the engine to the voice's reference (a claimed FIT_VOICE job, from the runner)."""
        assert job.voice_id is not None
        voice = await self.get(key_id=job.key_id, voice_id=job.voice_id)
        engine = self._engines.get_tts(job.params["backend"])
        reference = await self.references.fit_input(voice)  # all its samples, joined
        latest = [0.0]

        def progress(fraction: float) -> None:  # called from the engine's thread
            latest[0] = min(max(fraction, 0.0), 0.99)

        async def report() -> None:
            reported = -1.0
            while True:
                await asyncio.sleep(0.5)
                if latest[0] != reported:
                    reported = latest[0]
                    await self._set_fit_progress(job.id, voice.id, reported)

        reporter = asyncio.create_task(report())
        try:
            prompt = await asyncio.to_thread(
                functools.partial(
                    engine.create_voice_prompt,
                    reference.audio,
                    reference.transcript,
                    progress=progress,
                )
            )
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        async with self._sessions() as session:
            finished = await job_queries.finish_job(
                session, job_id=job.id, status=JobStatus.READY, attempt=job.attempts
            )
            if not finished:
                await session.commit()
                await self.mark_fit_failed(
                    voice_id=voice.id, error="fitting was cancelled", job_id=job.id
                )
                return
            # A first fit makes the voice ready; a refit swaps its prompt (voice_fits.py).
            await land_fit(
                session,
                job=job,
                voice_id=voice.id,
                engine=engine.name,
                engine_version=engine.version,
                prompt=prompt,
            )
            await session.commit()

    async def _set_fit_progress(self, job_id: str, voice_id: str, fraction: float) -> None:
        async with self._sessions() as session:
            await job_queries.set_progress(session, job_id=job_id, progress=fraction)
            voice = await voice_queries.get_voice_by_id(session, voice_id=voice_id)
            if voice is not None and voice.status == VoiceStatus.FITTING:
                await voice_queries.update_voice(session, voice=voice, progress=fraction)
            await session.commit()

    async def mark_fit_failed(
        self, *, voice_id: str, error: str, job_id: str | None = None
    ) -> None:
        """A fit failed: the voice is ``failed``, or, for a refit, keeps its old prompt and
        shows ``refit_error`` (``job_id`` tells which; see voice_fits.py)."""
        async with self._sessions() as session:
            await note_fit_failed(session, voice_id=voice_id, error=error, job_id=job_id)
            await session.commit()

    async def get(self, *, key_id: str, voice_id: str) -> Voice:
        """The key's stored voice; a stock voice's id is refused (``StockVoiceReadOnly``):
        what gets a stored voice changes it, or reads its reference clip."""
        try:
            voice_id = parse_id(voice_id, what="voice_id")
        except InvalidId:
            if self.stock.is_stock(voice_id):
                raise _read_only(voice_id) from None
            raise
        async with self._sessions() as session:
            voice = await voice_queries.get_voice(session, voice_id=voice_id, key_id=key_id)
        if voice is None:
            raise NotFound(f"voice {voice_id} not found", voice_id=voice_id)
        return voice

    async def resolve(self, *, key_id: str, voice: str) -> Voice | StockVoice:
        """The voice a synthesis names: a UUID is the key's voice (``get``); anything else is
        ``find``'s, and when nothing has that name either, ``InvalidId`` (400)."""
        try:
            parse_id(voice.strip(), what="voice_id")
        except InvalidId as exc:
            try:
                return await self.find(key_id=key_id, voice=voice)
            except NotFound as missing:
                if "component" in missing.details:  # a mix naming an unknown voice
                    raise
                raise InvalidId(
                    f"voice_id {voice.strip()!r} is not a voice id, nor the name of one of this "
                    "key's voices or of a stock voice",
                    **exc.details,
                ) from None
        return await self.get(key_id=key_id, voice_id=voice)

    async def resolve_cached(self, *, key_id: str, voice: str) -> Voice | StockVoice:
        """``resolve``, from memory for up to ``cache_s`` seconds: what synthesis reads on
        every request. A change to any voice in this process is seen at once, one made by
        another process within ``cache_s`` (services/state_cache.py). Read-only use only."""
        cached = self._resolved.get((key_id, voice))
        if cached is not None:
            return cached
        read_at = self._resolved.reader()
        found = await self.resolve(key_id=key_id, voice=voice)
        if isinstance(found, StockVoice) or found.status == VoiceStatus.READY:
            self._resolved.put((key_id, voice), found, read_at=read_at)  # not one in the making
        return found

    async def find(self, *, key_id: str, voice: str) -> Voice | StockVoice:
        """The key's voice whose id is ``voice``, else the newest of its voices named ``voice``
        (names need not be unique; they match exactly, after trimming spaces), else the stock
        voice ``voice`` names (id, OpenAI name or mix). Another key's voices are never found,
        by id or by name."""
        ref = voice.strip()
        if not ref:
            raise MissingField("voice is required and must not be empty", field="voice")
        try:
            voice_id: str | None = parse_id(ref, what="voice")
        except InvalidId:
            voice_id = None
        async with self._sessions() as session:
            found = None
            if voice_id is not None:
                found = await voice_queries.get_voice(session, voice_id=voice_id, key_id=key_id)
            if found is None:
                found = await voice_queries.get_voice_by_name(session, name=ref, key_id=key_id)
        if found is not None:
            return found
        stock = self.stock.find(ref)
        if stock is None:
            raise NotFound(
                f"voice {ref!r} not found: no voice of this key has that id or name, and no "
                "stock voice has that name",
                voice=ref,
            )
        return stock

    async def list(self, *, key_id: str, limit: int = 100, offset: int = 0) -> list[Voice]:
        async with self._sessions() as session:
            voices = await voice_queries.list_voices(
                session, key_id=key_id, limit=limit, offset=offset
            )
            return list(voices)

    async def update(self, *, key_id: str, voice_id: str, changes: VoiceUpdate) -> Voice:
        voice = await self.get(key_id=key_id, voice_id=voice_id)
        values: dict[str, Any] = {}
        if changes.name is not None:
            values["name"] = _clean_name(changes.name)
        if changes.family is not None:
            values["family"] = changes.family or None
        if changes.ref_text is not None:
            values["ref_text"] = changes.ref_text or None
            values["ref_text_auto"] = False
        if changes.description is not None:
            values["description"] = clean_description(changes.description)
        if changes.tags is not None:
            values["tags"] = clean_tags(changes.tags)
        if changes.labels is not None:
            values["labels"] = clean_labels(changes.labels)
        backend = changes.backend or voice.backend
        lang = changes.lang or voice.lang
        if changes.backend is not None or changes.lang is not None:
            check_language(self._engines.get_tts(backend), lang)
            values["backend"] = backend
            values["lang"] = lang
        if not values:
            return voice
        async with self._sessions() as session:
            updated = await voice_queries.update_voice(session, voice=voice, **values)
            await session.commit()
        return updated

    async def set_meta(self, *, key_id: str, voice_id: str, meta: dict[str, Any]) -> Voice:
        """Replace the voice's ``meta`` (e.g. its ElevenLabs voice settings)."""
        voice = await self.get(key_id=key_id, voice_id=voice_id)
        async with self._sessions() as session:
            updated = await voice_queries.update_voice(session, voice=voice, meta=meta)
            await session.commit()
        return updated

    async def delete(self, *, key_id: str, voice_id: str, purge_history: bool = False) -> None:
        """Delete the voice, its reference, its cached audio, and its jobs and their audio;
        its history is kept (audio moved out of the voice's blobs) unless ``purge_history``."""
        voice = await self.get(key_id=key_id, voice_id=voice_id)
        for listener in self._delete_listeners:
            await listener(voice, purge_history)
        async with self._sessions() as session:
            job_audio = await job_queries.list_job_audio_keys(session, voice_id=voice.id)
            await cache_queries.delete_entries_for_voice(session, voice_id=voice.id)
            await voice_queries.delete_voice(session, voice=voice)
            await session.commit()
        for blob_key in job_audio:
            await self._blobs.delete(blob_key)
        await self._blobs.delete_prefix(f"voices/{voice.id}")

    async def reference(self, *, key_id: str, voice_id: str) -> tuple[bytes, str]:
        voice = await self.get(key_id=key_id, voice_id=voice_id)
        data = await self._blobs.get(voice.ref_audio_key)
        return data, media_type(voice.ref_format)

    async def reference_download(self, *, key_id: str, voice_id: str) -> ReferenceDownload:
        """The reference clip as chunks streamed from the store, never whole in memory."""
        voice = await self.get(key_id=key_id, voice_id=voice_id)
        size = await self._blobs.size(voice.ref_audio_key)
        return ReferenceDownload(
            chunks=self._blobs.stream(voice.ref_audio_key),
            media_type=media_type(voice.ref_format),
            size=size,
        )

    async def reference_audio(self, voice: Voice) -> Audio:
        """All the voice's samples joined: what its engines are given."""
        return (await self.references.fit_input(voice)).audio

    async def prompt_for(self, voice: Voice | StockVoice, engine: TTSEngine) -> VoicePrompt:
        """The engine's prompt for this voice, computed and stored on first use.

        Fitted prompts are never recomputed during a request (fitting takes up to a minute):
        a fitted prompt from an older engine version is still used, and a voice never fitted
        for a fitting engine is refused with a clear 409. A stock voice's is its recipe.
        """
        if isinstance(voice, StockVoice):
            return voice.prompt_for(engine)
        cache_key = (voice.id, voice.updated_at, engine.name, engine.version)
        cached = self._prompts.get(cache_key)
        if cached is not None:
            return cached
        fitting = engine.capabilities().fitting
        async with self._sessions() as session:
            stored = await voice_queries.get_prompt(session, voice_id=voice.id, engine=engine.name)
        if stored is not None and (stored.engine_version == engine.version or fitting):
            self._prompts.put(cache_key, stored.prompt)
            return stored.prompt
        if fitting:
            raise Conflict(
                f"voice {voice.id} has not been fitted for backend {engine.name!r}; "
                f"create a voice with backend={engine.name} to use it",
                voice_id=voice.id,
                backend=engine.name,
            )
        reference = await self.references.fit_input(voice)
        prompt = await asyncio.to_thread(
            engine.create_voice_prompt, reference.audio, reference.transcript
        )
        async with self._sessions() as session:
            await voice_queries.put_prompt(
                session,
                voice_id=voice.id,
                engine=engine.name,
                engine_version=engine.version,
                prompt=prompt,
            )
            await session.commit()
        self._prompts.put(cache_key, prompt)
        return prompt


def _read_only(voice_id: str) -> StockVoiceReadOnly:
    return StockVoiceReadOnly(
        f"voice {voice_id.strip()!r} is a stock voice, shared by every key and read-only: it "
        "cannot be edited, deleted, exported, given samples or refitted, and has no reference "
        "clip; clone a voice (POST /v1/voices) to have one of your own",
        voice_id=voice_id.strip(),
    )


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise MissingField("name is required", field="name")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(
            f"name is {len(name)} characters long; at most {MAX_NAME_CHARS} are allowed",
            field="name",
        )
    return name
