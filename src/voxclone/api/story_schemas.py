"""Request and response bodies of the story routes (``/v1/stories``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voxclone.db.tables import Story, StoryClip, StoryTrack
from voxclone.services.story_checks import clip_length

Seconds = Field(None, ge=0, le=86400)
Gain = Field(None, ge=-60, le=24)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScriptFields(_Strict):
    script: str = Field(description="``NAME: line`` per paragraph; ``[pause 2s]``, ``[laughs]``.")
    voices: dict[str, str] = Field(description="Speaker name → voice id.")
    gap_s: float | None = Field(None, ge=0, le=60, description="Silence between lines (0.4).")
    pause_s: float | None = Field(None, ge=0, le=60, description="A direction's default pause.")
    backend: str | None = None
    lang: str | None = None
    speed: float | None = Field(None, ge=0.25, le=4.0)
    seed: int | None = None


class StoryCreate(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    settings: dict[str, Any] = Field(default_factory=dict)
    script: str | None = Field(None, description="A script to lay out at once (see /script).")
    voices: dict[str, str] = Field(default_factory=dict)
    gap_s: float | None = Field(None, ge=0, le=60)
    pause_s: float | None = Field(None, ge=0, le=60)


class StoryUpdate(_Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    settings: dict[str, Any] | None = None


class TrackFields(_Strict):
    name: str | None = Field(None, max_length=200)
    position: int | None = Field(None, ge=0, le=10_000)
    gain_db: float | None = Gain
    muted: bool | None = None


class ClipFields(_Strict):
    """A clip: ``text`` + ``voice_id`` (+ engine settings), or ``history_id``; uploaded audio
    comes as multipart (file ``audio`` and these fields as form fields)."""

    track_id: str | None = None
    text: str | None = None
    voice_id: str | None = None
    history_id: str | None = None
    backend: str | None = None
    lang: str | None = None
    speed: float | None = Field(None, ge=0.25, le=4.0)
    seed: int | None = None
    start_s: float | None = Seconds
    trim_in_s: float | None = Seconds
    trim_out_s: float | None = Field(None, gt=0, le=86400)
    gain_db: float | None = Gain
    fade_in_s: float | None = Seconds
    fade_out_s: float | None = Seconds


class TimelineEdit(_Strict):
    clip_id: str
    track_id: str | None = None
    start_s: float | None = Seconds
    trim_in_s: float | None = Seconds
    trim_out_s: float | None = Field(None, gt=0, le=86400)


class TimelineBody(_Strict):
    clips: list[TimelineEdit] = Field(min_length=1, max_length=10_000)


class RenderBody(_Strict):
    """Options left out come from the story's ``settings`` (same names), then the defaults."""

    format: str | None = Field(None, description="wav (default), mp3, flac or opus.")
    sample_rate: int | None = Field(None, ge=8000, le=48000)
    stems: bool | None = Field(None, description="Also one file per (unmuted) track.")
    target_lufs: float | None = Field(None, ge=-70, le=0, description="Loudness (-16).")
    callback_url: str | None = Field(None, description="POSTed the job when it ends.")


class TrackPublic(BaseModel):
    track_id: str
    name: str
    position: int
    gain_db: float
    muted: bool

    @classmethod
    def of(cls, track: StoryTrack) -> TrackPublic:
        return cls(
            track_id=track.id,
            name=track.name,
            position=track.position,
            gain_db=track.gain_db,
            muted=track.muted,
        )


class ClipPublic(BaseModel):
    clip_id: str
    track_id: str
    kind: str
    start_s: float
    end_s: float = Field(description="Where it ends on the timeline (estimated until rendered).")
    trim_in_s: float
    trim_out_s: float | None
    gain_db: float
    fade_in_s: float
    fade_out_s: float
    text: str | None
    voice_id: str | None
    history_id: str | None
    params: dict[str, Any] = Field(description="backend, lang, speed, seed; flow_gap_s.")
    duration_s: float | None = Field(description="The source audio's length, once known.")
    rendered: bool = Field(description="Whether the clip has audio (a text clip: rendered).")

    @classmethod
    def of(cls, clip: StoryClip) -> ClipPublic:
        return cls(
            clip_id=clip.id,
            track_id=clip.track_id,
            kind=clip.kind,
            start_s=clip.start_s,
            end_s=round(clip.start_s + clip_length(clip), 3),
            trim_in_s=clip.trim_in_s,
            trim_out_s=clip.trim_out_s,
            gain_db=clip.gain_db,
            fade_in_s=clip.fade_in_s,
            fade_out_s=clip.fade_out_s,
            text=clip.text,
            voice_id=clip.voice_id,
            history_id=clip.history_id,
            params=dict(clip.params or {}),
            duration_s=clip.duration_s,
            rendered=clip.audio_key is not None or clip.kind == "history",
        )


class StorySummary(BaseModel):
    story_id: str
    name: str
    description: str | None
    last_render_job_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, story: Story) -> StorySummary:
        return cls(
            story_id=story.id,
            name=story.name,
            description=story.description,
            last_render_job_id=story.last_render_job_id,
            created_at=story.created_at,
            updated_at=story.updated_at,
        )


class StoryPublic(StorySummary):
    settings: dict[str, Any]
    duration_s: float = Field(description="The end of the last clip (estimated until rendered).")
    tracks: list[TrackPublic]
    clips: list[ClipPublic]
