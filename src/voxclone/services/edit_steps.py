"""What an audio edit is: where its audio comes from, and the operations, in order; and how
each operation applies to the parts made so far (``apply``, pure: no I/O).

Plain values, checked by the API's schemas (``api/editing_schemas.py``) and run by
``services/editing.py`` through the pure functions of ``audio/ops.py``. ``describe`` gives the
JSON kept in a result's history ``params``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from voxclone.audio import ops
from voxclone.core.types import Audio
from voxclone.services.voiceprints import SpeechDetector


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Exactly one of: a history item, a finished job, or a file field of the request."""

    history_id: str | None = None
    job_id: str | None = None
    upload: str | None = None

    def __post_init__(self) -> None:
        given = [name for name in ("history_id", "job_id", "upload") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(f"a source is exactly one of history_id, job_id, upload; got {given}")

    @property
    def label(self) -> str:
        """``history_id=…``: how errors name it."""
        for name in ("history_id", "job_id", "upload"):
            value = getattr(self, name)
            if value:
                return f"{name}={value}"
        return "?"


@dataclass(frozen=True, slots=True)
class Trim:
    op: ClassVar[str] = "trim"
    start_s: float = 0.0
    end_s: float | None = None


@dataclass(frozen=True, slots=True)
class TrimSilence:
    op: ClassVar[str] = "trim_silence"
    pad_s: float = 0.05
    max_pause_s: float | None = None


@dataclass(frozen=True, slots=True)
class Fade:
    op: ClassVar[str] = "fade"
    in_s: float = 0.0
    out_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Gain:
    op: ClassVar[str] = "gain"
    db: float


@dataclass(frozen=True, slots=True)
class Normalize:
    op: ClassVar[str] = "normalize"
    target_lufs: float = -16.0


@dataclass(frozen=True, slots=True)
class Speed:
    op: ClassVar[str] = "speed"
    factor: float


@dataclass(frozen=True, slots=True)
class Pitch:
    op: ClassVar[str] = "pitch"
    semitones: float


@dataclass(frozen=True, slots=True)
class Concat:
    op: ClassVar[str] = "concat"
    sources: tuple[SourceRef, ...]
    gap_s: float = 0.0
    crossfade_ms: float = 10.0


@dataclass(frozen=True, slots=True)
class Split:
    op: ClassVar[str] = "split"
    at_s: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Resample:
    op: ClassVar[str] = "resample"
    sample_rate: int


@dataclass(frozen=True, slots=True)
class ToMono:
    op: ClassVar[str] = "to_mono"


Step = (
    Trim
    | TrimSilence
    | Fade
    | Gain
    | Normalize
    | Speed
    | Pitch
    | Concat
    | Split
    | Resample
    | ToMono
)


@dataclass(frozen=True, slots=True)
class EditPlan:
    source: SourceRef
    steps: tuple[Step, ...]
    format: str = "wav"
    sample_rate: int | None = None
    uploads: dict[str, bytes] = field(default_factory=dict, repr=False)
    """The request's files by field name: the source and concat sources with ``upload``."""

    def sources(self) -> list[SourceRef]:
        """Every source the plan reads, the main one first, each once."""
        found = [self.source]
        for step in self.steps:
            if isinstance(step, Concat):
                found.extend(ref for ref in step.sources if ref not in found)
        return found


def describe(step: Step) -> dict[str, Any]:
    """``{"op": ..., fields...}``, as the request gave it (a source by its one key)."""
    fields = asdict(step)
    if isinstance(step, Concat):
        fields["sources"] = [{k: v for k, v in ref.items() if v} for ref in fields["sources"]]
    return {"op": step.op, **fields}


# --- running -----------------------------------------------------------------------------------


def apply(
    step: Step,
    parts: list[Audio],
    sources: dict[SourceRef, Audio],
    vad: SpeechDetector | None,
) -> list[Audio]:
    """One operation on every part (concat joins them all, split makes more)."""
    if isinstance(step, Concat):
        extra = [sources[ref] for ref in step.sources]
        return [ops.concat([*parts, *extra], gap_s=step.gap_s, crossfade_ms=step.crossfade_ms)]
    if isinstance(step, Split):
        return [piece for part in parts for piece in ops.split(part, at_s=step.at_s)]
    return [apply_one(step, part, vad) for part in parts]


def apply_one(step: Step, audio: Audio, vad: SpeechDetector | None) -> Audio:
    if isinstance(step, Trim):
        return ops.trim(audio, start_s=step.start_s, end_s=step.end_s)
    if isinstance(step, TrimSilence):
        assert vad is not None
        spans = vad.segments(audio)
        return ops.trim_silence(audio, spans, pad_s=step.pad_s, max_pause_s=step.max_pause_s)
    if isinstance(step, Fade):
        return ops.fade(audio, in_s=step.in_s, out_s=step.out_s)
    if isinstance(step, Gain):
        return ops.gain(audio, db=step.db)
    if isinstance(step, Normalize):
        return ops.normalize(audio, target_lufs=step.target_lufs)
    if isinstance(step, Speed):
        return ops.change_speed(audio, factor=step.factor)
    if isinstance(step, Pitch):
        return ops.shift_pitch(audio, semitones=step.semitones)
    if isinstance(step, Resample):
        return ops.resample(audio, sample_rate=step.sample_rate)
    if isinstance(step, ToMono):
        return audio  # decoding mixed every source down to mono already (channel mean)
    raise TypeError(f"not a single-part operation: {step!r}")


def seconds(parts: list[Audio]) -> float:
    return sum(part.duration_s for part in parts)


def predicted_s(step: Step, parts: list[Audio], sources: dict[SourceRef, Audio]) -> float:
    """How long the parts will be after ``step``, where it can make them longer."""
    total = seconds(parts)
    if isinstance(step, Speed):
        return total / step.factor
    if isinstance(step, Concat):
        joined = len(parts) + len(step.sources)
        extra = sum(sources[ref].duration_s for ref in step.sources)
        return total + extra + step.gap_s * (joined - 1)
    return total
