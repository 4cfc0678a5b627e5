"""The engine protocols and the types they share.

Engines are synchronous and thread-safe enough to be called from a worker thread; services run
them off the event loop. A voice prompt is whatever an engine needs to speak in a voice,
as JSON-serialisable data: it is computed once per voice and stored with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from voxclone.core.types import Audio, FloatArray
from voxclone.engines.alignment import Alignment

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


@runtime_checkable
class QuickPromptEngine(TTSEngine, Protocol):
    """An engine whose ``create_voice_prompt`` is slow (a fit) that can also give, in about a
    second, a rougher prompt for the same speaker: what a one-shot request speaks with while
    the fit runs in the background."""

    def quick_voice_prompt(self, reference: Audio) -> VoicePrompt: ...


@runtime_checkable
class TimedTTSEngine(TTSEngine, Protocol):
    """A TTS engine that can say when each character of the text is heard (Kokoro and Piper,
    from their predicted phoneme durations). Remote engines send audio without timing."""

    def synthesize_timed(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[tuple[Audio, Alignment]]:
        """The chunks of ``synthesize`` (the same audio), each with the alignment of the text it
        speaks, times from the chunk's own start; chunks after the first begin with a space.
        Raises ``TimestampsUnsupported`` when this instance cannot time its speech."""
        ...


@dataclass(frozen=True, slots=True)
class CallbackTrigger:
    """One job handed to an engine that renders elsewhere and calls back when done."""

    job_id: str
    voice_id: str
    text: str
    prompt: VoicePrompt
    params: SynthesisParams
    cache_key: str
    callback_url: str
    """Where the worker POSTs the audio or the error (``/v1/jobs/{job_id}/complete``)."""
    callback_secret: str
    """Presented back as ``Authorization: Bearer``; valid for this job only."""


@runtime_checkable
class CallbackTTSEngine(TTSEngine, Protocol):
    """A TTS engine whose work ends later, in a POST to the job's callback URL (serverless GPUs:
    Modal, RunPod, a box behind NAT). ``trigger`` returns once the worker accepted the job;
    ``synthesize`` refuses, as there is nothing to wait on in a request."""

    def trigger(self, job: CallbackTrigger) -> None: ...


# --- speech to text -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with its times in seconds (asked for with ``word_timestamps``)."""

    start_s: float
    end_s: float
    word: str
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of recognised speech, with its times in seconds from the start of the audio.

    The fields after ``text`` are the decoder's own numbers, for OpenAI's ``verbose_json``;
    engines that do not know them leave the defaults.
    """

    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...] = ()
    seek: int = 0
    tokens: tuple[int, ...] = ()
    temperature: float | None = None
    avg_logprob: float | None = None
    compression_ratio: float | None = None
    no_speech_prob: float | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    segments: tuple[Segment, ...] = ()
    language: str | None = None
    """The language spoken, as the engine detected or was told it (None: unknown)."""
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    """How to transcribe, beyond the language. Engines ignore what they cannot do."""

    prompt: str | None = None
    """Text that came before (names, spelling, style), as Whisper's initial prompt."""
    temperature: float | None = None
    """Sampling temperature; None: the engine's default (Whisper: 0, raised on failures)."""
    word_timestamps: bool = False
    progress: ProgressCallback | None = field(default=None, compare=False)
    """Called with the fraction of the audio transcribed so far (from the engine's thread)."""
    task: str = "transcribe"
    """``transcribe``, or ``translate`` (into English; only engines with ``can_translate``)."""
    on_segment: Callable[[Segment], None] | None = field(default=None, compare=False)
    """Called with each segment as soon as it is decoded (from the engine's thread), for
    streaming; engines that decode all at once may never call it."""
    beam_size: int | None = None
    """Beams of a beam-search decoder; None: the engine's own (1 is greedy, the fastest)."""


@runtime_checkable
class STTEngine(Protocol):
    name: str
    version: str

    def transcribe(
        self,
        audio: Audio,
        language: str | None = None,
        options: TranscribeOptions | None = None,
    ) -> Transcript:
        """The speech in ``audio``; ``language`` None lets the engine detect it."""
        ...

    def close(self) -> None: ...


# --- speaker embedding --------------------------------------------------------------------------


@runtime_checkable
class Embedder(Protocol):
    """Speaker embeddings: two clips of one person give vectors with a high cosine."""

    name: str
    version: str
    """Changes whenever the same audio would give a different vector (stored prints too)."""

    def embed(self, audio: Audio) -> FloatArray:
        """The unit-length (L2-normalised) speaker embedding of ``audio``, float32, 1-D."""
        ...

    def close(self) -> None: ...


# --- noise suppression --------------------------------------------------------------------------


@runtime_checkable
class DenoiseStream(Protocol):
    """One signal denoised chunk by chunk, at one sample rate. Not for concurrent use.

    The output is aligned with the input (the model's delay is compensated): after ``flush``
    exactly as many samples have come out as went in.
    """

    sample_rate: int

    def process(self, samples: FloatArray) -> FloatArray:
        """Denoise the next mono float32 samples; returns the output ready so far (maybe none)."""
        ...

    def flush(self) -> FloatArray:
        """The rest of the output; the stream is closed afterwards."""
        ...

    def close(self) -> None:
        """Free what the stream holds (idempotent); also after a client went away mid-stream."""
        ...


@runtime_checkable
class Denoiser(Protocol):
    name: str
    version: str

    def denoise(self, audio: Audio) -> Audio:
        """``audio`` with its noise removed: same rate, same length, aligned."""
        ...

    def open_stream(self, sample_rate: int) -> DenoiseStream: ...

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
