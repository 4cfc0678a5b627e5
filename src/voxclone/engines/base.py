"""The engine protocols and the types they share.

Engines are synchronous and thread-safe enough to be called from a worker thread; services run
them off the event loop. A voice prompt is whatever an engine needs to speak in a voice,
as JSON-serialisable data: it is computed once per voice and stored with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from voxclone.core.types import Audio

VoicePrompt = dict[str, Any]
ProgressCallback = Callable[[float], None]
"""Called with a fraction in [0, 1] as long work advances."""


@dataclass(frozen=True, slots=True)
class TTSCapabilities:
    languages: frozenset[str]
    sample_rate: int
    streaming: bool = True
    cloning: bool = False
    """True when the engine speaks in the reference voice; False for fixed-voice engines."""
    fitting: bool = False
    """True when ``create_voice_prompt`` is slow (it fits a model to the reference): voices for
    this engine are then prepared in a job, with progress, instead of during the request."""


@dataclass(frozen=True, slots=True)
class SynthesisParams:
    language: str = "en"
    speed: float = 1.0
    temperature: float | None = None
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def cache_fields(self) -> dict[str, Any]:
        """The parameters that change the audio, for the synthesis cache key."""
        return {
            "speed": self.speed,
            "temperature": self.temperature,
            "seed": self.seed,
            **self.extra,
        }


@dataclass(frozen=True, slots=True)
class EngineHealth:
    available: bool
    detail: str = ""


@runtime_checkable
class TTSEngine(Protocol):
    name: str
    version: str
    """Changes whenever the same input would give different audio (part of the cache key)."""

    def capabilities(self) -> TTSCapabilities: ...

    def create_voice_prompt(
        self,
        reference: Audio,
        transcript: str | None,
        *,
        progress: ProgressCallback | None = None,
    ) -> VoicePrompt: ...

    def synthesize(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[Audio]:
        """Yield audio chunks (one per sentence or so) of one sample rate."""
        ...

    def close(self) -> None: ...


# --- speech to text -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of recognised speech, with its times in seconds from the start of the audio."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    segments: tuple[Segment, ...] = ()
    language: str | None = None
    """The language spoken, as the engine detected or was told it (None: unknown)."""
    duration_s: float | None = None


@runtime_checkable
class STTEngine(Protocol):
    name: str
    version: str

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        """The speech in ``audio``; ``language`` None lets the engine detect it."""
        ...

    def close(self) -> None: ...


# --- remote engines -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    """One URL of a remote engine, as the engine sees it now."""

    url: str
    weight: float
    state: str
    """``up``; ``ejected`` (failing, resting); ``probing`` (rest over, probe due); ``refused``
    (its address is not allowed by settings)."""
    outstanding: int
    requests: int
    failures: int
    consecutive_failures: int
    p50_ms: float | None
    p95_ms: float | None
    samples: int
    """How many recent successful requests the percentiles are over."""
    last_error: str | None
    retry_in_s: float | None


@runtime_checkable
class RemoteEngine(Protocol):
    """What an engine served over HTTP offers on top of its kind's protocol."""

    def health(self, *, force: bool = False) -> EngineHealth:
        """Probe URLs not probed lately (all with ``force``); available if any URL is up."""
        ...

    def endpoints(self) -> list[EndpointStatus]: ...
