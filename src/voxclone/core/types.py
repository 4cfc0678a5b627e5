"""Types shared by every layer: audio buffers, ids and record states."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voxclone.core.errors import InvalidId

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Audio:
    """Mono float32 samples in [-1, 1] with an explicit sample rate."""

    samples: FloatArray
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 1:
            raise ValueError(f"Audio must be mono (1-D), got shape {self.samples.shape}")
        if self.samples.dtype != np.float32:
            raise TypeError(f"Audio samples must be float32, got {self.samples.dtype}")
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @classmethod
    def concatenate(cls, parts: list[Audio]) -> Audio:
        if not parts:
            raise ValueError("cannot concatenate zero audio parts")
        rate = parts[0].sample_rate
        if any(p.sample_rate != rate for p in parts):
            raise ValueError("cannot concatenate audio of different sample rates")
        return cls(np.concatenate([p.samples for p in parts]).astype(np.float32), rate)


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.READY, JobStatus.FAILED, JobStatus.CANCELLED)


class JobKind(enum.StrEnum):
    SYNTHESIZE = "synthesize"
    FIT_VOICE = "fit_voice"
    BIOMETRICS = "biometrics"
    """Find who speaks when in a longer recording, among a key's enrolled speakers."""
    STORY_RENDER = "story_render"
    """Generate a story's missing clips, mix its tracks and normalise the loudness."""
    TRANSCRIBE = "transcribe"
    """Speech to text of a recording too long for a synchronous request."""
    DENOISE = "denoise"
    """Noise suppression of a recording too long for a synchronous request."""


class VoiceStatus(enum.StrEnum):
    FITTING = "fitting"
    READY = "ready"
    FAILED = "failed"


def new_id() -> str:
    """A new random record id (UUID4, canonical text form)."""
    return str(uuid.uuid4())


def parse_id(value: str, *, what: str = "id") -> str:
    """Return ``value`` in canonical UUID form, or raise InvalidId naming it."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError) as exc:
        raise InvalidId(f"{what} {value!r} is not a valid id", field=what) from exc
