"""Rendering a story, as a job: synthesize the text clips that changed, lay the flowing clips
out with their real lengths, mix the tracks, normalise the loudness, store file and stems.

Text clips go through the synthesis pipeline (``synthesize_now``, entry ``story``) as the
key, so quotas, the cache and usage apply. A clip whose ``rendered_hash`` (text, voice,
engine settings, engine version) still matches keeps its audio: a re-render regenerates only
what changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import decode_audio, encode_audio, media_type
from voxclone.audio.mix import PlacedClip, TrackMix, loudness_gain, mix, scaled, soft_limit
from voxclone.config import StorySettings
from voxclone.core.errors import NotFound, Unprocessable
from voxclone.core.types import Audio, JobKind, JobStatus, new_id, parse_id
from voxclone.db import history as history_queries
from voxclone.db import jobs as job_queries
from voxclone.db.tables import Job, Story, StoryClip
from voxclone.queue.base import JobQueue
from voxclone.services import story_checks as checks
from voxclone.services.keys import KeyService, Principal, principal_of
from voxclone.services.stories import StoryService, StoryView
from voxclone.services.story_script import reflow
from voxclone.services.synthesis import Admission, JobCancelled, SynthesisService
from voxclone.services.synthesis_request import SynthesisRequest
from voxclone.storage.base import BlobStore

RENDER_FORMATS = ("wav", "mp3", "flac", "opus")
SYNTHESIS_SHARE = 0.8
"""Of a render's progress, the share of synthesizing its clips (mixing is the rest)."""


@dataclass(frozen=True, slots=True)
class RenderOptions:
    format: str = "wav"
    sample_rate: int | None = None
    stems: bool = False
    target_lufs: float | None = None


RENDER_OPTIONS = ("format", "sample_rate", "stems", "target_lufs")


def render_options(values: Mapping[str, Any]) -> RenderOptions:
    """Checked options from a request merged over a story's settings (which hold any JSON)."""
    fmt = values.get("format") or "wav"
    if fmt not in RENDER_FORMATS:
        raise Unprocessable(
            f"format {fmt!r} is not one of {', '.join(RENDER_FORMATS)}", field="format"
        )
    rate = values.get("sample_rate")
    if rate is not None and (not isinstance(rate, int) or not 8000 <= rate <= 48000):
        raise Unprocessable(f"sample_rate {rate!r} is outside 8000–48000", field="sample_rate")
    lufs = values.get("target_lufs")
    if lufs is not None and (not isinstance(lufs, int | float) or not -70 <= lufs <= 0):
        raise Unprocessable(f"target_lufs {lufs!r} is outside -70–0", field="target_lufs")
    return RenderOptions(
        format=str(fmt),
        sample_rate=rate,
        stems=bool(values.get("stems", False)),
        target_lufs=None if lufs is None else float(lufs),
    )


def rendered_key(story_id: str, clip_id: str) -> str:
    return f"stories/{story_id}/clips/{clip_id}/rendered.wav"


def stem_key(job_id: str, track_id: str, fmt: str) -> str:
    return f"jobs/{job_id}/stems/{track_id}.{fmt}"


def clip_hash(clip: StoryClip, *, engine: str, engine_version: str) -> str:
    params = clip.params or {}
    parts = [clip.text, clip.voice_id, *(params.get(k) for k in ("backend", "lang", "speed"))]
    parts += [params.get("seed"), engine, engine_version]
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()


def clip_request(clip: StoryClip) -> SynthesisRequest:
    params = clip.params or {}
    return SynthesisRequest(
        voice_id=clip.voice_id or "",
        text=clip.text or "",
        lang=params.get("lang"),
        backend=params.get("backend"),
        speed=float(params.get("speed", 1.0)),
        seed=params.get("seed"),
    )


class StoryRenderer:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        queue: JobQueue,
        stories: StoryService,
        synthesis: SynthesisService,
        admission: Admission,
        keys: KeyService,
        settings: StorySettings,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._queue = queue
        self._stories = stories
        self._synthesis = synthesis
        self._admission = admission
        self._keys = keys
        self._settings = settings

    async def request(
        self,
        *,
        caller: Principal,
        key_id: str,
        story_id: str,
        asked: Mapping[str, Any],
        callback_url: str | None = None,
    ) -> Job:
        """Queue a render of the key's story (404 for another's); 429 past its jobs. Options
        not ``asked`` come from the story's ``settings``, then the defaults."""
        view = await self._stories.get(key_id=key_id, story_id=story_id)
        if not view.clips:
            raise Unprocessable("the story has no clips to render", story_id=view.story.id)
        saved = {k: v for k, v in (view.story.settings or {}).items() if k in RENDER_OPTIONS}
        options = render_options({**saved, **asked})
        await self._admission.admit_job(caller)
        async with self._sessions() as session:
            job = await job_queries.create_job(
                session,
                id=new_id(),
                key_id=key_id,
                kind=JobKind.STORY_RENDER,
                params={"story_id": view.story.id, **asdict(options)},
                callback_url=callback_url,
            )
            await session.commit()
        await self._queue.submit(job.id)
        return job

    async def run(self, job: Job) -> None:
        """Run a claimed render job (called by the JobRunner)."""
        options = RenderOptions(**{k: v for k, v in job.params.items() if k != "story_id"})
        caller = principal_of(await self._keys.get(key_id=job.key_id))
        view = await self._stories.get(key_id=job.key_id, story_id=job.params["story_id"])
        progress = self._progress(job.id)
        await progress(0.0)
        await self._synthesize_changed(caller, view, progress)
        view = await self._stories.get(key_id=job.key_id, story_id=view.story.id)
        sources = {clip.id: await self._source(job.key_id, clip) for clip in view.clips}
        if not sources:
            raise Unprocessable("the story has no clips to render", story_id=view.story.id)
        await self._reflow(view, sources)
        view = await self._stories.get(key_id=job.key_id, story_id=view.story.id)
        tracks = [
            TrackMix(
                clips=[self._placed(c, sources[c.id]) for c in view.clips if c.track_id == t.id],
                gain_db=t.gain_db,
                muted=t.muted,
                name=t.name,
            )
            for t in view.tracks
        ]
        rate = options.sample_rate or max(a.sample_rate for a in sources.values())
        mixed = await asyncio.to_thread(mix, tracks, sample_rate=rate, stems=options.stems)
        checks.check_length(mixed.master.duration_s, self._settings)
        await progress(0.9)
        target = self._settings.target_lufs if options.target_lufs is None else options.target_lufs
        gain = await asyncio.to_thread(loudness_gain, mixed.master, target)
        master = soft_limit(scaled(mixed.master, gain))  # stems get the same gain
        data = await asyncio.to_thread(encode_audio, master, options.format)
        audio_key = f"jobs/{job.id}.{options.format}"
        await self._blobs.put(audio_key, data)
        stems = []
        for track, stem in zip(view.tracks, mixed.stems, strict=True):
            if stem is None:
                continue
            encoded = await asyncio.to_thread(
                encode_audio, soft_limit(scaled(stem, gain)), options.format
            )
            key = stem_key(job.id, track.id, options.format)
            await self._blobs.put(key, encoded)
            stems.append(
                {
                    "track_id": track.id,
                    "name": track.name,
                    "key": key,
                    "url": f"/v1/stories/{view.story.id}/renders/{job.id}/stems/{track.id}",
                }
            )
        result: dict[str, Any] = {"story_id": view.story.id, "stems": stems, "history_id": None}
        history = self._stories.history
        async with self._sessions() as session:  # a render retried after a crash: one item
            kept = await history_queries.find_by_job(session, key_id=job.key_id, job_id=job.id)
        if kept is not None:
            result["history_id"] = kept.id
        elif history is not None:
            item = await history.add(
                key_id=job.key_id,
                audio=data,
                audio_format=options.format,
                duration_s=master.duration_s,
                entry="story_render",
                text=view.story.name,
                params={"story_id": view.story.id, **asdict(options)},
                backend="story",
                job_id=job.id,
                source_id=view.story.id,
                audio_key=audio_key,
            )
            result["history_id"] = item.id
        async with self._sessions() as session:
            finished = await job_queries.finish_job(
                session,
                job_id=job.id,
                status=JobStatus.READY,
                audio_key=audio_key,
                audio_duration_s=master.duration_s,
                attempt=job.attempts,
                result=result,
            )
            if finished:  # with the job: a ready render is the story's last
                await session.execute(
                    update(Story).where(Story.id == view.story.id).values(last_render_job_id=job.id)
                )
            await session.commit()

    async def stem(
        self, *, key_id: str, story_id: str, job_id: str, track_id: str
    ) -> tuple[bytes, str]:
        """One track's stem of a render of the key's story, and its media type."""
        view = await self._stories.get(key_id=key_id, story_id=story_id)
        job_id = parse_id(job_id, what="job_id")
        async with self._sessions() as session:
            job = await job_queries.get_job(session, job_id=job_id, key_id=key_id)
        if job is None or job.params.get("story_id") != view.story.id:
            raise NotFound(f"render {job_id} of story {view.story.id} not found", job_id=job_id)
        for stem in (job.result or {}).get("stems", []):
            if stem.get("track_id") == track_id:
                return await self._blobs.get(stem["key"]), media_type(job.params["format"])
        raise NotFound(f"render {job_id} has no stem of track {track_id}", track_id=track_id)

    async def _synthesize_changed(self, caller: Principal, view: StoryView, progress: Any) -> None:
        key_id = view.story.key_id
        stale: list[tuple[StoryClip, str]] = []
        for clip in view.clips:
            if clip.kind != "text":
                continue
            _, engine, _ = await self._synthesis.check(key_id=key_id, req=clip_request(clip))
            wanted = clip_hash(clip, engine=engine.name, engine_version=engine.version)
            if wanted != clip.rendered_hash or clip.audio_key is None:
                stale.append((clip, wanted))
        gate = asyncio.Semaphore(self._settings.render_concurrency)
        done = 0

        async def one(clip: StoryClip, wanted: str) -> None:
            nonlocal done
            async with gate:
                result = await self._synthesis.synthesize_now(
                    caller=caller, req=clip_request(clip), entry="story", in_job=True
                )
            key = rendered_key(view.story.id, clip.id)
            await self._blobs.put(key, result.data)
            async with self._sessions() as session:
                await session.execute(
                    update(StoryClip)
                    .where(StoryClip.id == clip.id)
                    .values(audio_key=key, rendered_hash=wanted, duration_s=result.duration_s)
                )
                await session.commit()
            done += 1
            await progress(SYNTHESIS_SHARE * done / len(stale))

        try:
            async with asyncio.TaskGroup() as group:
                for clip, wanted in stale:
                    group.create_task(one(clip, wanted))
        except ExceptionGroup as failed:  # the first failure (a quota, an engine) is the job's
            raise _first(failed) from None

    async def _source(self, key_id: str, clip: StoryClip) -> Audio:
        if clip.kind == "history":
            history = self._stories.history
            if history is None or clip.history_id is None:
                raise Unprocessable("history clips need the generation history", clip_id=clip.id)
            data, _ = await history.audio(key_id=key_id, history_id=clip.history_id)
        else:
            if clip.audio_key is None:
                raise Unprocessable(f"clip {clip.id} has no audio", clip_id=clip.id)
            data = await self._blobs.get(clip.audio_key)
        return (await asyncio.to_thread(decode_audio, data)).audio

    async def _reflow(self, view: StoryView, sources: dict[str, Audio]) -> None:
        """Record each clip's real length, and lay the flowing ones out with it."""
        for clip in view.clips:
            clip.duration_s = sources[clip.id].duration_s
        starts = reflow([checks.timing_of(clip) for clip in view.clips])
        async with self._sessions() as session:
            for clip in view.clips:
                values: dict[str, Any] = {"duration_s": clip.duration_s}
                if clip.id in starts:
                    values["start_s"] = starts[clip.id]
                await session.execute(
                    update(StoryClip).where(StoryClip.id == clip.id).values(**values)
                )
            await session.commit()

    @staticmethod
    def _placed(clip: StoryClip, audio: Audio) -> PlacedClip:
        return PlacedClip(
            audio=audio,
            start_s=clip.start_s,
            trim_in_s=clip.trim_in_s,
            trim_out_s=clip.trim_out_s,
            gain_db=clip.gain_db,
            fade_in_s=clip.fade_in_s,
            fade_out_s=clip.fade_out_s,
        )

    def _progress(self, job_id: str) -> Any:
        async def report(fraction: float) -> None:
            async with self._sessions() as session:
                job = await job_queries.get_job(session, job_id=job_id)
                if job is None or job.status == JobStatus.CANCELLED:
                    raise JobCancelled
                await job_queries.set_progress(session, job_id=job_id, progress=fraction)
                await session.commit()

        return report


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first: BaseException = group.exceptions[0]
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first
