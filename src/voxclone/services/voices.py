"""Voices: a reference clip, its transcript, and the engines' prompts computed from it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import check_duration, decode_audio, media_type
from voxclone.config import LimitSettings
from voxclone.core.errors import MissingField, NotFound, UnsupportedLanguage
from voxclone.core.types import Audio, VoiceStatus, new_id, parse_id
from voxclone.db import cache as cache_queries
from voxclone.db import jobs as job_queries
from voxclone.db import voices as voice_queries
from voxclone.db.tables import Voice
from voxclone.engines.base import TTSEngine, VoicePrompt
from voxclone.engines.registry import EngineRegistry
from voxclone.storage.base import BlobStore

MAX_NAME_CHARS = 200
MAX_REF_TEXT_CHARS = 5000


def reference_key(voice_id: str, fmt: str) -> str:
    return f"voices/{voice_id}/ref.{fmt}"


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
class VoiceUpdate:
    name: str | None = None
    family: str | None = None
    ref_text: str | None = None
    lang: str | None = None
    backend: str | None = None


class VoiceService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        engines: EngineRegistry,
        limits: LimitSettings,
        default_backend: str,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._engines = engines
        self._limits = limits
        self._default_backend = default_backend

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
    ) -> Voice:
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
        voice_id = new_id()
        blob_key = reference_key(voice_id, decoded.format)
        await self._blobs.put(blob_key, ref_audio)
        try:
            prompt = await asyncio.to_thread(
                engine.create_voice_prompt, decoded.audio, ref_text or None
            )
            async with self._sessions() as session:
                voice = await voice_queries.create_voice(
                    session,
                    id=voice_id,
                    key_id=key_id,
                    name=name,
                    backend=backend,
                    lang=lang,
                    family=family or None,
                    ref_text=ref_text or None,
                    ref_text_auto=False,
                    ref_audio_key=blob_key,
                    ref_format=decoded.format,
                    ref_duration_s=round(decoded.audio.duration_s, 3),
                    ref_sample_rate=decoded.sample_rate,
                    status=VoiceStatus.READY,
                    progress=1.0,
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

    async def get(self, *, key_id: str, voice_id: str) -> Voice:
        voice_id = parse_id(voice_id, what="voice_id")
        async with self._sessions() as session:
            voice = await voice_queries.get_voice(session, voice_id=voice_id, key_id=key_id)
        if voice is None:
            raise NotFound(f"voice {voice_id} not found", voice_id=voice_id)
        return voice

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

    async def delete(self, *, key_id: str, voice_id: str) -> None:
        """Delete the voice, its reference, its cached audio, and its jobs and their audio."""
        voice = await self.get(key_id=key_id, voice_id=voice_id)
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

    async def reference_audio(self, voice: Voice) -> Audio:
        return decode_audio(await self._blobs.get(voice.ref_audio_key)).audio

    async def prompt_for(self, voice: Voice, engine: TTSEngine) -> VoicePrompt:
        """The engine's prompt for this voice, computed and stored on first use."""
        async with self._sessions() as session:
            stored = await voice_queries.get_prompt(session, voice_id=voice.id, engine=engine.name)
        if stored is not None and stored.engine_version == engine.version:
            return stored.prompt
        reference = await self.reference_audio(voice)
        prompt = await asyncio.to_thread(engine.create_voice_prompt, reference, voice.ref_text)
        async with self._sessions() as session:
            await voice_queries.put_prompt(
                session,
                voice_id=voice.id,
                engine=engine.name,
                engine_version=engine.version,
                prompt=prompt,
            )
            await session.commit()
        return prompt


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise MissingField("name is required", field="name")
    if len(name) > MAX_NAME_CHARS:
        raise MissingField(
            f"name is {len(name)} characters long; at most {MAX_NAME_CHARS} are allowed",
            field="name",
        )
    return name
