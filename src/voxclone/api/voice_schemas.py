"""Bodies of the voice-profile routes: samples, pages of voices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from voxclone.api.schemas import VoicePublic
from voxclone.services.voice_references import Sample


class SamplePublic(BaseModel):
    sample_id: str
    voice_id: str
    format: str
    duration_s: float
    sample_rate: int
    ref_text: str | None
    ref_text_auto: bool = Field(description="ref_text was transcribed by voxclone.")
    position: int
    primary: bool = Field(
        description="The first sample: the voice's own reference (GET /v1/voices/{id}/reference)."
    )
    checks: dict[str, Any] = Field(
        description="What the engine's reference checks measured (speech_s, level_dbfs, "
        "pitch_hz...); empty where the engine checks nothing."
    )
    created_at: datetime

    @classmethod
    def of(cls, sample: Sample) -> SamplePublic:
        return cls(
            sample_id=sample.id,
            voice_id=sample.voice_id,
            format=sample.format,
            duration_s=sample.duration_s,
            sample_rate=sample.sample_rate,
            ref_text=sample.ref_text,
            ref_text_auto=sample.ref_text_auto,
            position=sample.position,
            primary=sample.primary,
            checks=sample.checks,
            created_at=sample.created_at,
        )


class SampleList(BaseModel):
    samples: list[SamplePublic]
    total_duration_s: float


class SampleChanged(BaseModel):
    """A sample added or removed: the sample (when added) and the voice as it now stands
    (``refitting`` and ``refit_job_id`` while a fitting engine refits it)."""

    sample: SamplePublic | None = None
    voice: VoicePublic


class VoicePage(BaseModel):
    voices: list[VoicePublic]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")
    has_more: bool
