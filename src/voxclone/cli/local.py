"""The commands in process: the services on the server's database and storage, as the
``voxclone`` command always worked. Results are converted to the client's types through the
API's own public schemas, so they read as the remote ones do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

from voxclone.api.history_schemas import HistoryItemPublic
from voxclone.api.routes.consent import ConsentPublic
from voxclone.api.routes.provenance import parse_manifest
from voxclone.api.schemas import JobPublic, KeyPublic, VoicePublic
from voxclone.api.schemas import KeyIssued as KeyIssuedPublic
from voxclone.api.story_schemas import StorySummary as StorySummaryPublic
from voxclone.api.usage_schemas import UsagePublic
from voxclone.api.watermark_schemas import detect_result
from voxclone.cli.backend import Deleted, Progress, Spoken, StoryMade
from voxclone.client import HistoryItem, Job, Key, KeyIssued, StorySummary, Usage, Voice
from voxclone.client.provenance import Verification
from voxclone.client.voices import Consent, ConsentChallenge
from voxclone.client.watermark import Detection
from voxclone.config import Settings
from voxclone.core.errors import InvalidAudio, InvalidInput, NotFound, VoxcloneError
from voxclone.core.types import JobStatus
from voxclone.db import jobs as job_queries
from voxclone.db.history import HistoryFilter
from voxclone.services.container import Services, build_services
from voxclone.services.keys import Principal
from voxclone.services.provenance import ProvenanceService
from voxclone.services.synthesis_request import SynthesisRequest


class LocalBackend:
    def __init__(self, services: Services, key: str | None) -> None:
        self.s = services
        self._key = key

    @classmethod
    @asynccontextmanager
    async def start(cls, key: str | None) -> AsyncIterator[LocalBackend]:
        services = build_services(Settings())
        await services.start(run_jobs=False)
        try:
            yield cls(services, key)
        finally:
            await services.close()

    async def _user(self) -> Principal:
        """The user key the command acts as (``--key`` or VOXCLONE_API_KEY)."""
        settings = self.s.settings
        token = self._key or (settings.api_key.get_secret_value() if settings.api_key else None)
        if not token:
            raise VoxcloneError(
                "no user key: pass --key vx_... or set VOXCLONE_API_KEY "
                "(create one with `voxclone keys create`)"
            )
        principal = await self.s.keys.authenticate(token)
        if principal.key_id is None:
            raise VoxcloneError("the admin key cannot own voices; use a user key (vx_...)")
        return principal

    async def _key_id(self) -> str:
        key_id = (await self._user()).key_id
        assert key_id is not None
        return key_id

    # keys ---------------------------------------------------------------------------------

    async def keys_create(self, *, label: str, rate_limit: int | None) -> KeyIssued:
        issued = await self.s.keys.create(label=label, rate_limit_per_minute=rate_limit)
        public = KeyIssuedPublic(**KeyPublic.of(issued.record).model_dump(), api_key=issued.secret)
        return KeyIssued.model_validate(public.model_dump(mode="json"))

    async def keys_list(self) -> list[Key]:
        return [
            Key.model_validate(KeyPublic.of(k).model_dump(mode="json"))
            for k in await self.s.keys.list()
        ]

    async def keys_revoke(self, key_id: str) -> None:
        await self.s.keys.revoke(key_id=key_id)

    # voices -------------------------------------------------------------------------------

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
        key_id = await self._key_id()
        voice = await self.s.voices.create(
            key_id=key_id,
            name=name,
            ref_audio=audio,
            ref_text=ref_text,
            backend=backend,
            lang=lang,
        )
        fit_job = (voice.meta or {}).get("fit_job_id")
        if fit_job:  # a fitting engine: run its job here, showing its progress
            run = asyncio.create_task(self.s.runner(fit_job))
            while not run.done():
                await asyncio.sleep(0.5)
                progress((await self.s.voices.get(key_id=key_id, voice_id=voice.id)).progress)
            await run
            voice = await self.s.voices.get(key_id=key_id, voice_id=voice.id)
            if voice.status != "ready":
                raise VoxcloneError(f"fitting failed: {voice.error}")
        return Voice.model_validate(VoicePublic.of(voice).model_dump(mode="json"))

    async def voices_list(self) -> list[Voice]:
        voices = await self.s.voices.list(key_id=await self._key_id(), limit=1000)
        return [Voice.model_validate(VoicePublic.of(v).model_dump(mode="json")) for v in voices]

    async def voices_delete(self, voice: str) -> str:
        key_id = await self._key_id()
        voice_id = (await self.s.voices.find(key_id=key_id, voice=voice)).id
        await self.s.voices.delete(key_id=key_id, voice_id=voice_id)
        return voice_id

    async def consent_challenge(self, voice: str) -> ConsentChallenge:
        key_id = await self._key_id()
        voice_id = (await self.s.voices.find(key_id=key_id, voice=voice)).id
        c = await self.s.consent.challenge(key_id=key_id, voice_id=voice_id)
        return ConsentChallenge(
            consent_id=c.id, voice_id=c.voice_id, phrase=c.phrase, expires_at=c.expires_at
        )

    async def consent(self, voice: str, *, audio: bytes, filename: str) -> Consent:
        key_id = await self._key_id()
        voice_id = (await self.s.voices.find(key_id=key_id, voice=voice)).id
        c = await self.s.consent.answer(key_id=key_id, voice_id=voice_id, audio=audio)
        return Consent.model_validate(ConsentPublic.of(c).model_dump(mode="json"))

    # provenance ---------------------------------------------------------------------------

    def _provenance(self) -> ProvenanceService:
        if self.s.provenance is None:
            raise VoxcloneError("provenance is off (VOXCLONE_PROVENANCE__ENABLED=false)")
        return self.s.provenance

    async def provenance_verify(
        self, *, audio: bytes, filename: str, manifest: bytes | None
    ) -> Verification:
        parsed = parse_manifest(manifest) if manifest is not None else None
        caller = await self._user()
        verdict = await self._provenance().verify(caller=caller, audio=audio, manifest=parsed)
        found = None
        if self.s.watermark is not None:
            try:
                found = await self._detection(caller, audio)
            except InvalidAudio:  # not audio: the hash alone answers, as the API does
                found = None
        return Verification.model_validate({**asdict(verdict), "watermark": found})

    async def provenance_manifest(self, history_id: str) -> dict[str, Any]:
        return await self._provenance().manifest(key_id=await self._key_id(), history_id=history_id)

    # watermark ----------------------------------------------------------------------------

    async def watermark_detect(self, *, audio: bytes, filename: str) -> Detection:
        if self.s.watermark is None:
            raise VoxcloneError("the watermark is off (VOXCLONE_WATERMARK__ENABLED=false)")
        return await self._detection(await self._user(), audio)

    async def _detection(self, caller: Principal, audio: bytes) -> Detection:
        assert self.s.watermark is not None
        verdict = await self.s.watermark.detect(
            caller=caller, data=audio, max_seconds=self.s.settings.limits.max_speech_audio_s
        )
        answer = detect_result(verdict, urls=lambda i: (f"/v1/history/{i}/audio", None))
        return Detection.model_validate(answer.model_dump(mode="json"))

    # speech -------------------------------------------------------------------------------

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
        user = await self._user()
        assert user.key_id is not None
        try:
            voice_id = (await self.s.voices.find(key_id=user.key_id, voice=voice)).id
        except NotFound:
            raise NotFound(f"no voice named {voice!r}; see `voxclone voices list`") from None

        async def advance(fraction: float) -> None:
            progress(fraction)

        result = await self.s.synthesis.synthesize_now(
            caller=user,
            req=SynthesisRequest(
                voice_id=voice_id,
                text=text,
                lang=lang,
                backend=backend,
                format=format,
                speed=speed,
            ),
            progress=advance,
        )
        progress(1.0)
        return Spoken(result.data, result.duration_s, result.cache_hit)

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
        from voxclone.services import transcript_formats as formats
        from voxclone.services.transcription import TranscriptionRequest

        writers = {"text": formats.to_text, "srt": formats.to_srt, "vtt": formats.to_vtt}
        result = await self.s.transcription.transcribe(
            data=audio,
            request=TranscriptionRequest(backend=backend, language=language),
            progress=progress,
        )
        if format == "json":
            body = formats.to_verbose_json(
                result.transcript, duration_s=result.duration_s, words=False
            )
            return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
        return writers[format](result.transcript)

    # history, usage, jobs -----------------------------------------------------------------

    async def history_list(
        self,
        *,
        search: str | None,
        voice: str | None,
        backend: str | None,
        starred: bool,
        limit: int,
    ) -> list[HistoryItem]:
        found = HistoryFilter(
            search=search, voice_id=voice, backend=backend, starred=True if starred else None
        )
        page = await self.s.history.page(key_id=await self._key_id(), filter=found, limit=limit)
        return [
            HistoryItem.model_validate(
                HistoryItemPublic.of(item, audio_url=f"/v1/history/{item.id}/audio").model_dump(
                    mode="json"
                )
            )
            for item in page.items
        ]

    async def history_audio(self, history_id: str) -> tuple[bytes, str]:
        return await self.s.history.audio(key_id=await self._key_id(), history_id=history_id)

    async def history_delete(self, ids: list[str]) -> Deleted:
        done = await self.s.history.delete(key_id=await self._key_id(), ids=ids)
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
        from voxclone.core.types import parse_id
        from voxclone.services import usage as metering

        since = metering.parse_bound(start, field="from")
        until = metering.parse_bound(end, field="to", end=True)
        if all_keys:
            groups = metering.parse_groups(group_by, allowed=metering.GROUPS, default=("key",))
            summary = await self.s.usage.summary(
                key_id=parse_id(key_id, what="key_id") if key_id else None,
                start=since,
                end=until,
                group_by=groups,
            )
        else:
            groups = metering.parse_groups(
                group_by, allowed=metering.USER_GROUPS, default=("backend", "day")
            )
            summary = await self.s.usage.summary(
                key=await self._user(), start=since, end=until, group_by=groups
            )
        public = UsagePublic.of(summary).model_dump(mode="json", by_alias=True)
        return Usage.model_validate(public)

    async def jobs_wait(self, job_id: str, *, progress: Progress) -> Job:
        """Follow a job the server runs (on the same database) until it ends."""
        key_id = await self._key_id()
        delay = 0.2
        while True:
            job = await self.s.jobs.get(key_id=key_id, job_id=job_id)
            progress(1.0 if job.status == JobStatus.READY else job.progress)
            if job.status in ("ready", "failed", "cancelled"):
                return Job.model_validate(JobPublic.of(job, audio_url=None).model_dump(mode="json"))
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 2.0)

    async def job_audio(self, job_id: str) -> bytes:
        audio = await self.s.jobs.audio(key_id=await self._key_id(), job_id=job_id)
        return b"".join([chunk async for chunk in audio.chunks])

    # stories ------------------------------------------------------------------------------

    async def stories_create(
        self, *, name: str, script: str, cast: dict[str, str], gap: float | None
    ) -> StoryMade:
        key_id = await self._key_id()
        voices = {
            speaker: (await self.s.voices.find(key_id=key_id, voice=wanted)).id
            for speaker, wanted in cast.items()
        }
        self.s.stories.check_script(script, voices)
        story = await self.s.stories.create(key_id=key_id, name=name, description=None, settings={})
        view = await self.s.stories.import_script(
            key_id=key_id, story_id=story.story.id, script=script, voices=voices, gap_s=gap
        )
        return StoryMade(view.story.id, len(view.tracks), len(view.clips))

    async def stories_list(self) -> list[StorySummary]:
        stories = await self.s.stories.list_stories(key_id=await self._key_id())
        return [
            StorySummary.model_validate(StorySummaryPublic.of(s).model_dump(mode="json"))
            for s in stories
        ]

    async def stories_render(
        self, story_id: str, *, format: str, progress: Progress
    ) -> tuple[bytes, float]:
        """Render here, as a job of the key's, through the same pipeline as the server's."""
        caller = await self._user()
        assert caller.key_id is not None
        job = await self.s.story_renderer.request(
            caller=caller, key_id=caller.key_id, story_id=story_id, asked={"format": format}
        )
        running = asyncio.create_task(self.s.runner(job.id))
        while not running.done():
            await asyncio.sleep(0.2)
            async with self.s.sessions() as session:
                row = await job_queries.get_job(session, job_id=job.id)
            if row is not None:
                progress(row.progress)
        await running
        progress(1.0)
        finished = await self.s.jobs.get(key_id=caller.key_id, job_id=job.id)
        if finished.status != JobStatus.READY:
            raise InvalidInput(f"the render failed: {finished.error}", job_id=job.id)
        audio = await self.s.jobs.audio(key_id=caller.key_id, job_id=job.id)
        data = b"".join([chunk async for chunk in audio.chunks])
        return data, finished.audio_duration_s or 0.0
