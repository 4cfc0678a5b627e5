"""Stories as their owners edit them: stories, tracks and clips, the timeline, scripts.

Every change is checked whole before it is committed (times, references, the story's
bounds), so a refused change leaves the story as it was. Ids of another key's stories,
tracks, clips, voices and history items are not found (404), never told apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.config import LimitSettings, StorySettings
from voxclone.core.errors import NotFound, Unprocessable
from voxclone.core.types import new_id, parse_id
from voxclone.db import stories as queries
from voxclone.db.tables import Story, StoryClip, StoryTrack
from voxclone.services import story_checks as checks
from voxclone.services.history import HistoryService
from voxclone.services.story_clips import ClipEditor, new_clip, upload_key
from voxclone.services.story_script import lay_out, parse_script
from voxclone.services.voices import VoiceService
from voxclone.storage.base import BlobStore

TRACK_COLUMNS = ("name", "position", "gain_db", "muted")


@dataclass(frozen=True, slots=True)
class StoryView:
    story: Story
    tracks: list[StoryTrack]
    clips: list[StoryClip]


class StoryService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        voices: VoiceService,
        settings: StorySettings,
        limits: LimitSettings,
        history: HistoryService | None = None,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._voices = voices
        self.settings = settings
        self.limits = limits
        self.history = history
        self.clips = ClipEditor(voices=voices, history=history, limits=limits, settings=settings)

    # --- stories ---------------------------------------------------------------------------------

    async def create(
        self, *, key_id: str, name: str, description: str | None, settings: dict[str, Any]
    ) -> StoryView:
        story = Story(
            id=new_id(), key_id=key_id, name=name, description=description, settings=settings
        )
        async with self._sessions() as session:
            session.add(story)
            await session.commit()
        return await self.get(key_id=key_id, story_id=story.id)

    async def list_stories(self, *, key_id: str, limit: int = 100, offset: int = 0) -> list[Story]:
        async with self._sessions() as session:
            return await queries.list_stories(session, key_id=key_id, limit=limit, offset=offset)

    async def get(self, *, key_id: str, story_id: str) -> StoryView:
        async with self._sessions() as session:
            story = await self._story(session, key_id, story_id)
            return StoryView(
                story=story,
                tracks=await queries.list_tracks(session, story_id=story.id),
                clips=await queries.list_clips(session, story_id=story.id),
            )

    async def update(self, *, key_id: str, story_id: str, changes: Mapping[str, Any]) -> StoryView:
        async with self._sessions() as session:
            story = await self._story(session, key_id, story_id)
            for field in ("name", "description", "settings"):
                if field in changes:
                    setattr(story, field, changes[field])
            await session.commit()
        return await self.get(key_id=key_id, story_id=story_id)

    async def delete(self, *, key_id: str, story_id: str) -> None:
        async with self._sessions() as session:
            story = await self._story(session, key_id, story_id)
            await queries.delete_story(session, story=story)
            await session.commit()
        await self._blobs.delete_prefix(f"stories/{story.id}/")

    # --- tracks ----------------------------------------------------------------------------------

    async def add_track(
        self, *, key_id: str, story_id: str, fields: Mapping[str, Any]
    ) -> StoryTrack:
        async with self._sessions() as session:
            story = await self._story(session, key_id, story_id)
            tracks = await queries.list_tracks(session, story_id=story.id)
            checks.check_tracks(len(tracks) + 1, self.settings)
            track = self._new_track(story.id, fields, position=len(tracks))
            session.add(track)
            await session.commit()
            return track

    async def get_track(self, *, key_id: str, story_id: str, track_id: str) -> StoryTrack:
        async with self._sessions() as session:
            return await self._track(session, key_id, story_id, track_id)

    async def update_track(
        self, *, key_id: str, story_id: str, track_id: str, changes: Mapping[str, Any]
    ) -> StoryTrack:
        async with self._sessions() as session:
            track = await self._track(session, key_id, story_id, track_id)
            for field in TRACK_COLUMNS:
                if field in changes:
                    setattr(track, field, changes[field])
            await session.commit()
            return track

    async def delete_track(self, *, key_id: str, story_id: str, track_id: str) -> None:
        async with self._sessions() as session:
            track = await self._track(session, key_id, story_id, track_id)
            await queries.delete_track(session, track=track)
            await session.commit()

    # --- clips -----------------------------------------------------------------------------------

    async def add_clip(
        self,
        *,
        key_id: str,
        story_id: str,
        fields: Mapping[str, Any],
        audio: bytes | None = None,
    ) -> StoryClip:
        """A text clip (``text`` and ``voice_id``), a history clip (``history_id``) or, with
        ``audio``, an uploaded one; on the track ``track_id``."""
        clip_id = new_id()
        duration: float | None = None
        if audio is not None:
            duration = await self.clips.upload_duration(audio)
            await self._blobs.put(upload_key(parse_id(story_id, what="story_id"), clip_id), audio)
        try:
            async with self._sessions() as session:
                story = await self._story(session, key_id, story_id)
                clip = await self._new_clip(session, key_id, story, clip_id, fields, duration)
                session.add(clip)
                await session.flush()
                await self._check_story(session, story.id)
                await session.commit()
                return clip
        except BaseException:
            if audio is not None:
                await self._blobs.delete(upload_key(story_id, clip_id))
            raise

    async def get_clip(self, *, key_id: str, story_id: str, clip_id: str) -> StoryClip:
        async with self._sessions() as session:
            return await self._clip(session, key_id, story_id, clip_id)

    async def update_clip(
        self, *, key_id: str, story_id: str, clip_id: str, changes: Mapping[str, Any]
    ) -> StoryClip:
        async with self._sessions() as session:
            clip = await self._clip(session, key_id, story_id, clip_id)
            story_id = await self._apply(session, key_id, story_id, clip, changes)
            await self._check_story(session, story_id)
            await session.commit()
            return clip

    async def delete_clip(self, *, key_id: str, story_id: str, clip_id: str) -> None:
        async with self._sessions() as session:
            clip = await self._clip(session, key_id, story_id, clip_id)
            await queries.delete_clips(session, clip_ids=[clip.id])
            await session.commit()
        await self._blobs.delete_prefix(f"stories/{parse_id(story_id)}/clips/{clip.id}/")

    async def edit_timeline(
        self, *, key_id: str, story_id: str, edits: Sequence[Mapping[str, Any]]
    ) -> StoryView:
        """Move, retrack and trim several clips at once: all of the edits or none."""
        async with self._sessions() as session:
            story = await self._story(session, key_id, story_id)
            for edit in edits:
                clip = await self._clip(session, key_id, story.id, str(edit["clip_id"]))
                changes = {k: v for k, v in edit.items() if k != "clip_id"}
                await self._apply(session, key_id, story.id, clip, changes)
            await self._check_story(session, story.id)
            await session.commit()
        return await self.get(key_id=key_id, story_id=story_id)

    def check_script(self, script: str, voices: Mapping[str, str]) -> None:
        """What can be checked of a script without the database: its length, its speakers."""
        checks.check_script_length(script, self.settings)
        items = parse_script(script, default_pause_s=self.settings.default_pause_s)
        checks.cast_of([line.speaker for line in lay_out(items, gap_s=0.0)], voices)

    async def import_script(
        self,
        *,
        key_id: str,
        story_id: str,
        script: str,
        voices: Mapping[str, str],
        gap_s: float | None = None,
        pause_s: float | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> StoryView:
        """Lay a script out as flowing text clips after the story's clips, one track per
        speaker (an existing track of that name is reused). ``gap_s`` and ``pause_s`` not
        given come from the story's ``settings``, then the server's defaults."""
        checks.check_script_length(script, self.settings)
        saved = (await self.get(key_id=key_id, story_id=story_id)).story.settings or {}
        pause = _seconds(pause_s, saved.get("pause_s"), self.settings.default_pause_s)
        gap = _seconds(gap_s, saved.get("gap_s"), self.settings.default_gap_s)
        items = parse_script(script, default_pause_s=pause)
        lines = lay_out(items, gap_s=gap)
        if not lines:
            raise Unprocessable("the script has no lines to speak", field="script")
        cast = checks.cast_of([line.speaker for line in lines], voices)
        for voice_id in set(cast.values()):
            await self._voices.get(key_id=key_id, voice_id=voice_id)
        async with self._sessions() as session:
            story = await self._story(session, key_id, story_id)
            tracks = {t.name: t for t in await queries.list_tracks(session, story_id=story.id)}
            for speaker in dict.fromkeys(line.speaker for line in lines):
                if speaker not in tracks:
                    tracks[speaker] = self._new_track(
                        story.id, {"name": speaker}, position=len(tracks)
                    )
                    session.add(tracks[speaker])
            checks.check_tracks(len(tracks), self.settings)
            await session.flush()
            existing = await queries.list_clips(session, story_id=story.id)
            cursor = checks.flow_end(existing)
            if existing:  # the script continues the story: the gap before its first line too
                lines[0] = replace(lines[0], flow_gap_s=lines[0].flow_gap_s + gap)
            engine = {k: v for k, v in (params or {}).items() if v is not None}
            for line in lines:
                start = cursor + line.flow_gap_s
                clip = new_clip(
                    id=new_id(),
                    track_id=tracks[line.speaker].id,
                    kind="text",
                    start_s=round(start, 6),
                    text=line.text,
                    voice_id=cast[line.speaker],
                    params={**engine, "flow_gap_s": line.flow_gap_s},
                )
                checks.check_text(line.text, self.limits)
                session.add(clip)
                cursor = start + checks.clip_length(clip)
            await session.flush()
            await self._check_story(session, story.id)
            await session.commit()
        return await self.get(key_id=key_id, story_id=story_id)

    # --- helpers ---------------------------------------------------------------------------------

    async def _story(self, session: AsyncSession, key_id: str, story_id: str) -> Story:
        story_id = parse_id(story_id, what="story_id")
        story = await queries.get_story(session, story_id=story_id, key_id=key_id)
        if story is None:
            raise NotFound(f"story {story_id} not found", story_id=story_id)
        return story

    async def _track(
        self, session: AsyncSession, key_id: str, story_id: str, track_id: str
    ) -> StoryTrack:
        story = await self._story(session, key_id, story_id)
        track_id = parse_id(track_id, what="track_id")
        track = await queries.get_track(session, story_id=story.id, track_id=track_id)
        if track is None:
            raise NotFound(f"track {track_id} not found", track_id=track_id)
        return track

    async def _clip(
        self, session: AsyncSession, key_id: str, story_id: str, clip_id: str
    ) -> StoryClip:
        story = await self._story(session, key_id, story_id)
        clip_id = parse_id(clip_id, what="clip_id")
        clip = await queries.get_clip(session, story_id=story.id, clip_id=clip_id)
        if clip is None:
            raise NotFound(f"clip {clip_id} not found", clip_id=clip_id)
        return clip

    def _new_track(self, story_id: str, fields: Mapping[str, Any], *, position: int) -> StoryTrack:
        values = {k: fields[k] for k in TRACK_COLUMNS if fields.get(k) is not None}
        values.setdefault("position", position)
        values.setdefault("name", "")
        values.setdefault("gain_db", 0.0)
        values.setdefault("muted", False)
        return StoryTrack(id=new_id(), story_id=story_id, **values)

    async def _new_clip(
        self,
        session: AsyncSession,
        key_id: str,
        story: Story,
        clip_id: str,
        fields: Mapping[str, Any],
        duration: float | None,
    ) -> StoryClip:
        if fields.get("track_id") is None:
            raise Unprocessable("a clip needs a track_id", field="track_id")
        kind = "upload" if duration is not None else checks.kind_of(fields)
        clip = new_clip(
            id=clip_id,
            track_id="",
            kind=kind,
            duration_s=duration,
            audio_key=upload_key(story.id, clip_id) if kind == "upload" else None,
        )
        await self._apply(session, key_id, story.id, clip, fields)
        return clip

    async def _apply(
        self,
        session: AsyncSession,
        key_id: str,
        story_id: str,
        clip: StoryClip,
        changes: Mapping[str, Any],
    ) -> str:
        """Apply ``changes`` to ``clip`` after checking them; the clip's story id."""
        story = await self._story(session, key_id, story_id)
        if changes.get("track_id") is not None:
            track = await self._track(session, key_id, story.id, str(changes["track_id"]))
            clip.track_id = track.id
        await self.clips.apply(key_id=key_id, clip=clip, changes=changes)
        return story.id

    async def _check_story(self, session: AsyncSession, story_id: str) -> None:
        tracks = await queries.list_tracks(session, story_id=story_id)
        clips = await queries.list_clips(session, story_id=story_id)
        checks.check_bounds(clips, tracks=len(tracks), settings=self.settings)


def _seconds(asked: float | None, saved: Any, default: float) -> float:
    """The asked value, else a story setting that is a sensible number of seconds, else the
    default (settings hold any JSON)."""
    if asked is not None:
        return asked
    if isinstance(saved, int | float) and 0 <= saved <= 60:
        return float(saved)
    return default
