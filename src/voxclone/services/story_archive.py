"""A story as a project archive (zip: ``story.json`` and the clips' audio), and back.

Import reads the archive in memory and never extracts it: members are looked up by the
names ``story.json`` gives, checked against a fixed pattern, and read with a cap. Archives
with other names (``../x``, absolute paths), too many members, or members that unpack past
their bounds are refused (422) before anything is stored.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.config import StorySettings
from voxclone.core.errors import Unprocessable
from voxclone.core.types import new_id
from voxclone.db.tables import Story, StoryClip, StoryTrack
from voxclone.services import story_checks as checks
from voxclone.services.stories import StoryService, StoryView
from voxclone.services.story_clips import ENGINE_PARAMS, new_clip, upload_key
from voxclone.services.story_render import rendered_key
from voxclone.services.voices import VoiceService
from voxclone.storage.base import BlobStore

FORMAT = "voxclone-story"
VERSION = 1
MAX_JSON_BYTES = 4 * 1024 * 1024
CLIP_PARAMS = (*ENGINE_PARAMS, "flow_gap_s")
_MEMBER = re.compile(r"^clips/[0-9]{1,6}\.audio$")


class ArchiveTrack(BaseModel):
    name: str = Field("", max_length=200)
    gain_db: float = Field(0.0, ge=-60, le=24)
    muted: bool = False


class ArchiveClip(BaseModel):
    track: int = Field(ge=0)
    kind: str = Field(pattern="^(text|upload)$")
    start_s: float = Field(0.0, ge=0)
    trim_in_s: float = Field(0.0, ge=0)
    trim_out_s: float | None = Field(None, gt=0)
    gain_db: float = Field(0.0, ge=-60, le=24)
    fade_in_s: float = Field(0.0, ge=0)
    fade_out_s: float = Field(0.0, ge=0)
    text: str | None = None
    voice_id: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    rendered_hash: str | None = Field(None, max_length=64)
    audio: str | None = None


class ArchiveStory(BaseModel):
    format: str = Field(pattern=f"^{FORMAT}$")
    version: int = Field(ge=1, le=VERSION)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    tracks: list[ArchiveTrack]
    clips: list[ArchiveClip]


def _refuse(message: str, **details: Any) -> Unprocessable:
    return Unprocessable(message, field="archive", **details)


class StoryArchives:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        stories: StoryService,
        voices: VoiceService,
        settings: StorySettings,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._stories = stories
        self._voices = voices
        self._settings = settings

    async def export(self, *, key_id: str, story_id: str) -> tuple[str, bytes]:
        """The archive's file name and bytes. History clips travel as their audio (uploads)."""
        view = await self._stories.get(key_id=key_id, story_id=story_id)
        track_index = {t.id: i for i, t in enumerate(view.tracks)}
        buffer = io.BytesIO()
        clips: list[dict[str, Any]] = []
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for n, clip in enumerate(view.clips):
                audio = await self._audio_of(key_id, clip)
                member = f"clips/{n}.audio" if audio is not None else None
                if member is not None and audio is not None:
                    archive.writestr(member, audio)
                clips.append(_clip_json(clip, track_index[clip.track_id], member))
            document = {
                "format": FORMAT,
                "version": VERSION,
                "name": view.story.name,
                "description": view.story.description,
                "settings": view.story.settings,
                "tracks": [
                    {"name": t.name, "gain_db": t.gain_db, "muted": t.muted} for t in view.tracks
                ],
                "clips": clips,
            }
            archive.writestr("story.json", json.dumps(document, indent=1))
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", view.story.name).strip("-") or "story"
        return f"{safe[:60]}.voxstory.zip", buffer.getvalue()

    async def import_(self, *, key_id: str, data: bytes) -> StoryView:
        members, document = self._read(data)
        if len(document.tracks) > self._settings.max_tracks:
            checks.check_tracks(len(document.tracks), self._settings)
        for voice_id in {c.voice_id for c in document.clips if c.kind == "text" and c.voice_id}:
            await self._voices.get(key_id=key_id, voice_id=voice_id)  # 404: another key's
        story = Story(
            id=new_id(),
            key_id=key_id,
            name=document.name,
            description=document.description,
            settings=document.settings,
        )
        tracks = [
            StoryTrack(id=new_id(), story_id=story.id, position=i, **t.model_dump())
            for i, t in enumerate(document.tracks)
        ]
        clips: list[StoryClip] = []
        stored: list[str] = []
        try:
            for n, entry in enumerate(document.clips):
                if entry.track >= len(tracks):
                    raise _refuse(f"clip {n} is on track {entry.track}, which does not exist")
                clip = new_clip(
                    id=new_id(),
                    track_id=tracks[entry.track].id,
                    **entry.model_dump(exclude={"track", "audio", "rendered_hash", "params"}),
                    params={k: v for k, v in entry.params.items() if k in CLIP_PARAMS},
                )
                audio = members.get(entry.audio) if entry.audio else None
                if entry.kind == "upload" and audio is None:
                    raise _refuse(f"clip {n} is uploaded audio but the archive has none")
                if audio is not None:
                    clip.duration_s = await self._stories.clips.upload_duration(audio)
                    key = (upload_key if entry.kind == "upload" else rendered_key)(
                        story.id, clip.id
                    )
                    await self._blobs.put(key, audio)
                    stored.append(key)
                    clip.audio_key = key
                    clip.rendered_hash = entry.rendered_hash if entry.kind == "text" else None
                if entry.kind == "text":
                    clip.text = checks.check_text(clip.text, self._stories.limits)
                checks.check_clip(clip)
                clips.append(clip)
            checks.check_bounds(clips, tracks=len(tracks), settings=self._settings)
            async with self._sessions() as session:
                session.add(story)
                await session.flush()
                session.add_all(tracks)
                await session.flush()
                session.add_all(clips)
                await session.commit()
        except BaseException:
            for key in stored:
                await self._blobs.delete(key)
            raise
        return await self._stories.get(key_id=key_id, story_id=story.id)

    def _read(self, data: bytes) -> tuple[dict[str, bytes], ArchiveStory]:
        if len(data) > self._settings.max_archive_bytes:
            raise _refuse(
                f"the archive is larger than {self._settings.max_archive_bytes} bytes",
                max_bytes=self._settings.max_archive_bytes,
            )
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError) as exc:
            raise _refuse("the archive is not a zip file") from exc
        with archive:
            infos = archive.infolist()
            if len(infos) > self._settings.max_clips + 1:
                raise _refuse(f"the archive has {len(infos)} members; too many", members=len(infos))
            names = [info.filename for info in infos]
            bad = [n for n in names if n != "story.json" and not _MEMBER.match(n)]
            if bad or len(set(names)) != len(names):
                raise _refuse("the archive holds unexpected or repeated members", members=bad[:5])
            if "story.json" not in names:
                raise _refuse("the archive has no story.json")
            budget = self._settings.max_archive_unpacked_bytes
            contents: dict[str, bytes] = {}
            for info in infos:
                cap = (
                    MAX_JSON_BYTES
                    if info.filename == "story.json"
                    else self._settings.max_upload_bytes
                )
                try:
                    with archive.open(info) as member:
                        content = member.read(min(cap, budget) + 1)
                except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
                    raise _refuse(f"member {info.filename} cannot be read") from exc
                if len(content) > min(cap, budget):
                    raise _refuse(
                        f"member {info.filename} unpacks past its limit", member=info.filename
                    )
                budget -= len(content)
                contents[info.filename] = content
        try:
            document = ArchiveStory.model_validate_json(contents.pop("story.json"))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
            )
            raise _refuse(f"story.json is not a story: {problems}") from exc
        return contents, document

    async def _audio_of(self, key_id: str, clip: StoryClip) -> bytes | None:
        if clip.kind == "history":
            history = self._stories.history
            if history is None or clip.history_id is None:
                return None
            data, _ = await history.audio(key_id=key_id, history_id=clip.history_id)
            return data
        if clip.audio_key is None or not await self._blobs.exists(clip.audio_key):
            return None
        return await self._blobs.get(clip.audio_key)


def _clip_json(clip: StoryClip, track: int, member: str | None) -> dict[str, Any]:
    kind = "text" if clip.kind == "text" else "upload"
    return {
        "track": track,
        "kind": kind,
        "start_s": clip.start_s,
        "trim_in_s": clip.trim_in_s,
        "trim_out_s": clip.trim_out_s,
        "gain_db": clip.gain_db,
        "fade_in_s": clip.fade_in_s,
        "fade_out_s": clip.fade_out_s,
        "text": clip.text if kind == "text" else None,
        "voice_id": clip.voice_id if kind == "text" else None,
        "params": clip.params if kind == "text" else {},
        "rendered_hash": clip.rendered_hash if kind == "text" else None,
        "audio": member,
    }
