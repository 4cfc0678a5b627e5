"""The commands on a remote deployment, through ``voxclone.client``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from voxclone.cli.backend import Deleted, Progress, Spoken, StoryMade
from voxclone.client import (
    AsyncClient,
    HistoryItem,
    Job,
    Key,
    KeyIssued,
    NotFound,
    StorySummary,
    Usage,
    Voice,
)
from voxclone.client.provenance import Verification
from voxclone.client.voices import Consent, ConsentChallenge
from voxclone.client.watermark import Detection

WRITERS = {"text": "text", "srt": "srt", "vtt": "vtt"}


class RemoteBackend:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    @classmethod
    @asynccontextmanager
    async def connect(cls, server: str, api_key: str | None) -> AsyncIterator[RemoteBackend]:
        async with AsyncClient(server, api_key=api_key, timeout=600) as client:
            yield cls(client)

    async def keys_create(self, *, label: str, rate_limit: int | None) -> KeyIssued:
        return await self.client.keys.create(label, rate_limit_per_minute=rate_limit)

    async def keys_list(self) -> list[Key]:
        return await self.client.keys.list()

    async def keys_revoke(self, key_id: str) -> None:
        await self.client.keys.revoke(key_id)

    async def voices_add(
        self,
        *,
        name: str,
        audio: bytes,
        filename: str,
        ref_text: str | None,
        backend: str | None,
        lang: str,
        progress: Progress,
    ) -> Voice:
        voice = await self.client.voices.create(
            name, (filename, audio), ref_text=ref_text, backend=backend, lang=lang
        )
        if voice.status == "fitting":
            voice = await self.client.voices.wait_ready(voice.voice_id, on_progress=progress)
        return voice

    async def voices_list(self) -> list[Voice]:
        return await self.client.voices.list(limit=1000)

    async def voices_delete(self, voice: str) -> str:
        found = await self.client.voices.find(voice)
        await self.client.voices.delete(found.voice_id)
        return found.voice_id

    async def consent_challenge(self, voice: str) -> ConsentChallenge:
        found = await self.client.voices.find(voice)
        return await self.client.voices.consent_challenge(found.voice_id)

    async def consent(self, voice: str, *, audio: bytes, filename: str) -> Consent:
        found = await self.client.voices.find(voice)
        return await self.client.voices.consent(found.voice_id, (filename, audio))

    async def provenance_verify(
        self, *, audio: bytes, filename: str, manifest: bytes | None
    ) -> Verification:
        return await self.client.provenance.verify((filename, audio), manifest=manifest)

    async def provenance_manifest(self, history_id: str) -> dict[str, Any]:
        return await self.client.provenance.manifest(history_id)

    async def watermark_detect(self, *, audio: bytes, filename: str) -> Detection:
        return await self.client.watermark.detect((filename, audio))

    async def say(
        self,
        *,
        text: str,
        voice: str,
        format: str,
        backend: str | None,
        lang: str | None,
        speed: float,
        progress: Progress,
    ) -> Spoken:
        try:
            voice_id = (await self.client.voices.find(voice)).voice_id
        except NotFound:
            raise NotFound(
                f"no voice named {voice!r}; see `voxclone voices list`",
                status_code=404,
                code="not_found",
            ) from None
        audio = await self.client.synthesis.synthesize(
            voice_id,
            text,
            format=format,
            backend=backend,
            lang=lang,
            speed=speed,
            on_progress=progress,
        )
        return Spoken(audio.data, audio.duration_s or 0.0, audio.cache_hit)

    async def transcribe(
        self,
        *,
        audio: bytes,
        filename: str,
        language: str | None,
        format: str,
        backend: str | None,
        progress: Progress,
    ) -> str:
        upload = (filename, audio)
        if format == "json":
            result = await self.client.transcriptions.transcribe(
                upload, model=backend, language=language
            )
            body = result.model_dump(mode="json", exclude_none=True)
            return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
        text = await self.client.transcriptions.captions(
            upload, format=WRITERS[format], model=backend, language=language
        )
        progress(1.0)
        return text if text.endswith("\n") else text + "\n"

    async def history_list(
        self,
        *,
        search: str | None,
        voice: str | None,
        backend: str | None,
        starred: bool,
        limit: int,
    ) -> list[HistoryItem]:
        page = await self.client.history.list(
            search=search,
            voice_id=voice,
            backend=backend,
            starred=True if starred else None,
            limit=limit,
        )
        return page.items

    async def history_audio(self, history_id: str) -> tuple[bytes, str]:
        item = await self.client.history.get(history_id)
        audio = await self.client.history.audio(history_id)
        return audio.data, item.audio_format

    async def history_delete(self, ids: list[str]) -> Deleted:
        done = await self.client.history.delete(ids)
        return Deleted(done.deleted, done.in_use)

    async def usage(
        self,
        *,
        all_keys: bool,
        start: str | None,
        end: str | None,
        group_by: str | None,
        key_id: str | None,
    ) -> Usage:
        if all_keys:
            return await self.client.account.admin_usage(
                start=start, end=end, group_by=group_by, key_id=key_id
            )
        return await self.client.account.usage(start=start, end=end, group_by=group_by)

    async def jobs_wait(self, job_id: str, *, progress: Progress) -> Job:
        return await self.client.jobs.wait(job_id, on_progress=progress, raise_on_failure=False)

    async def job_audio(self, job_id: str) -> bytes:
        return (await self.client.jobs.audio(job_id)).data

    async def stories_create(
        self, *, name: str, script: str, cast: dict[str, str], gap: float | None
    ) -> StoryMade:
        voices = {
            speaker: (await self.client.voices.find(wanted)).voice_id
            for speaker, wanted in cast.items()
        }
        story = await self.client.stories.create(name, script=script, voices=voices, gap_s=gap)
        return StoryMade(story.story_id, len(story.tracks), len(story.clips))

    async def stories_list(self) -> list[StorySummary]:
        return await self.client.stories.list()

    async def stories_render(
        self, story_id: str, *, format: str, progress: Progress
    ) -> tuple[bytes, float]:
        queued = await self.client.stories.render(story_id, format=format)
        job = await self.client.jobs.wait(queued.job_id, on_progress=progress)
        audio = await self.client.jobs.audio(job.job_id)
        return audio.data, job.audio_duration_s or 0.0
