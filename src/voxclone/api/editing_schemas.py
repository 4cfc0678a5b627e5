"""Schemas of ``POST /v1/audio/edit``: the source, the operations (a union tagged by ``op``),
the output; and the response. Bounds are checked here, each error naming its field with the
operation's index (``operations.2.start_s``); ``services/edit_steps.py`` has the plain values."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voxclone.api.history_schemas import HistoryItemPublic
from voxclone.services import edit_steps as s

MAX_TIME_S = 24 * 3600.0
MAX_FADE_S = 60.0
MAX_CONCAT_SOURCES = 16
MAX_SPLITS = 100
MIN_RATE, MAX_RATE = 8000, 48000

OutputFormat = Literal["wav", "mp3", "flac", "ogg", "opus", "pcm"]
"""voxclone.audio.SUPPORTED_OUTPUT_FORMATS (tests/api/test_editing.py checks they agree)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SourceIn(_Strict):
    """Exactly one of ``history_id``, ``job_id`` (a ready job), ``upload`` (multipart only:
    the name of a file field of the request)."""

    history_id: str | None = Field(None, max_length=64)
    job_id: str | None = Field(None, max_length=64)
    upload: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceIn:
        given = [name for name in ("history_id", "job_id", "upload") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of history_id, job_id, upload (got {len(given)}: {given})"
            )
        return self

    def ref(self) -> s.SourceRef:
        return s.SourceRef(history_id=self.history_id, job_id=self.job_id, upload=self.upload)


class TrimIn(_Strict):
    """Keep ``start_s`` to ``end_s`` (the end when null or past it)."""

    op: Literal["trim"]
    start_s: float = Field(0.0, ge=0, le=MAX_TIME_S)
    end_s: float | None = Field(None, gt=0, le=MAX_TIME_S)

    @model_validator(mode="after")
    def _ordered(self) -> TrimIn:
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"end_s ({self.end_s}) must be after start_s ({self.start_s})")
        return self

    def step(self) -> s.Trim:
        return s.Trim(start_s=self.start_s, end_s=self.end_s)


class TrimSilenceIn(_Strict):
    """Cut the silence before and after the speech (Silero VAD), keeping ``pad_s``; with
    ``max_pause_s``, shorten longer pauses inside to that."""

    op: Literal["trim_silence"]
    pad_s: float = Field(0.05, ge=0, le=1.0)
    max_pause_s: float | None = Field(None, gt=0, le=10.0)

    def step(self) -> s.TrimSilence:
        return s.TrimSilence(pad_s=self.pad_s, max_pause_s=self.max_pause_s)


class FadeIn(_Strict):
    """Linear fade in over ``in_s`` and/or out over ``out_s`` (from and to silence)."""

    op: Literal["fade"]
    in_s: float = Field(0.0, ge=0, le=MAX_FADE_S)
    out_s: float = Field(0.0, ge=0, le=MAX_FADE_S)

    @model_validator(mode="after")
    def _something(self) -> FadeIn:
        if self.in_s == 0 and self.out_s == 0:
            raise ValueError("give in_s, out_s or both (seconds)")
        return self

    def step(self) -> s.Fade:
        return s.Fade(in_s=self.in_s, out_s=self.out_s)


class GainIn(_Strict):
    op: Literal["gain"]
    db: float = Field(ge=-60, le=60)

    def step(self) -> s.Gain:
        return s.Gain(db=self.db)


class NormalizeIn(_Strict):
    """One gain to bring the integrated loudness (ITU-R BS.1770) to ``target_lufs``."""

    op: Literal["normalize"]
    target_lufs: float = Field(-16.0, ge=-70, le=0)

    def step(self) -> s.Normalize:
        return s.Normalize(target_lufs=self.target_lufs)


class SpeedIn(_Strict):
    """Play ``factor`` times as fast; the pitch is kept."""

    op: Literal["speed"]
    factor: float = Field(ge=0.25, le=4.0)

    def step(self) -> s.Speed:
        return s.Speed(factor=self.factor)


class PitchIn(_Strict):
    """Shift the pitch; the duration and the formants are kept."""

    op: Literal["pitch"]
    semitones: float = Field(ge=-24, le=24)

    def step(self) -> s.Pitch:
        return s.Pitch(semitones=self.semitones)


class ConcatIn(_Strict):
    """Append ``sources`` (after every part so far): crossfaded, or with ``gap_s`` of silence."""

    op: Literal["concat"]
    sources: list[SourceIn] = Field(min_length=1, max_length=MAX_CONCAT_SOURCES)
    gap_s: float = Field(0.0, ge=0, le=60.0)
    crossfade_ms: float = Field(10.0, ge=0, le=1000.0)

    def step(self) -> s.Concat:
        return s.Concat(
            sources=tuple(source.ref() for source in self.sources),
            gap_s=self.gap_s,
            crossfade_ms=self.crossfade_ms,
        )


class SplitIn(_Strict):
    """Cut at the times ``at_s``: each part a history item of its own."""

    op: Literal["split"]
    at_s: list[Annotated[float, Field(gt=0, le=MAX_TIME_S)]] = Field(
        min_length=1, max_length=MAX_SPLITS
    )

    @model_validator(mode="after")
    def _increasing(self) -> SplitIn:
        if any(b <= a for a, b in zip(self.at_s, self.at_s[1:], strict=False)):
            raise ValueError(f"at_s must be increasing, got {self.at_s}")
        return self

    def step(self) -> s.Split:
        return s.Split(at_s=tuple(self.at_s))


class ResampleIn(_Strict):
    op: Literal["resample"]
    sample_rate: int = Field(ge=MIN_RATE, le=MAX_RATE)

    def step(self) -> s.Resample:
        return s.Resample(sample_rate=self.sample_rate)


class ToMonoIn(_Strict):
    """Mix the channels down (every source is decoded to mono already: kept for clarity)."""

    op: Literal["to_mono"]

    def step(self) -> s.ToMono:
        return s.ToMono()


Operation = Annotated[
    TrimIn
    | TrimSilenceIn
    | FadeIn
    | GainIn
    | NormalizeIn
    | SpeedIn
    | PitchIn
    | ConcatIn
    | SplitIn
    | ResampleIn
    | ToMonoIn,
    Field(discriminator="op"),
]


class EditRequestIn(_Strict):
    """The JSON body; in multipart, ``source`` defaults to the ``file`` field and
    ``operations`` is a JSON string field."""

    source: SourceIn
    operations: list[Operation] = Field(min_length=1)
    format: OutputFormat = "wav"
    sample_rate: int | None = Field(None, ge=MIN_RATE, le=MAX_RATE)

    def plan(self, uploads: dict[str, bytes] | None = None) -> s.EditPlan:
        return s.EditPlan(
            source=self.source.ref(),
            steps=tuple(operation.step() for operation in self.operations),
            format=self.format,
            sample_rate=self.sample_rate,
            uploads=dict(uploads or {}),
        )


class EditResultPublic(BaseModel):
    items: list[HistoryItemPublic] = Field(
        description="The new history items, one per part (several after a split)."
    )
