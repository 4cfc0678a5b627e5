"""Noise suppression: whole uploads, live streams of PCM frames, and voice references.

An upload's duration is read from its header before any sample is decoded (a two-hour file is
refused at once); the work runs off the event loop. A live stream is a ``DenoiseSession``:
Float32 little-endian PCM bytes in, the same out, aligned with the input and, after ``finish``,
exactly as long. Each upload and each stream holds one model state; at most
``deepfilter.max_streams`` are held at once, and more are refused with 429.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxclone.audio import SUPPORTED_OUTPUT_FORMATS, DecodedAudio, decode_audio, encode_audio
from voxclone.audio import media_type as media_type_of
from voxclone.config import DeepFilterSettings, LimitSettings
from voxclone.core.errors import (
    AudioDurationOutOfRange,
    InvalidAudio,
    InvalidInput,
    PayloadTooLarge,
    RateLimited,
    UnsupportedFormat,
    UnsupportedSampleRate,
)
from voxclone.core.types import Audio, FloatArray
from voxclone.engines.base import Denoiser, DenoiseStream
from voxclone.engines.registry import EngineRegistry

DENOISER = "deepfilternet"
"""The noise-suppression engine used for uploads, streams and voice references."""
STREAM_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
"""Sample rates a live stream may use (PCM in and out at the same rate)."""
MIN_OUTPUT_RATE = 8000
MAX_OUTPUT_RATE = 48000
STREAM_LATENCY_MS = 30 + 10
"""DeepFilterNet3's algorithmic delay (30 ms: a 20 ms window and 2 frames of lookahead, less
one hop) plus up to one 10 ms frame waiting to be complete; resampling adds about 1 ms."""


@dataclass(frozen=True, slots=True)
class DenoisedFile:
    data: bytes
    media_type: str
    format: str
    sample_rate: int
    duration_s: float
    processing_ms: int
    backend: str


@dataclass(frozen=True, slots=True)
class StreamSummary:
    sample_rate: int
    samples_in: int
    samples_out: int
    processing_ms: int

    def as_message(self) -> dict[str, Any]:
        return {
            "type": "done",
            "sample_rate": self.sample_rate,
            "samples_in": self.samples_in,
            "samples_out": self.samples_out,
            "duration_s": round(self.samples_in / self.sample_rate, 3),
            "processing_ms": self.processing_ms,
        }


class _Slots:
    """A count of model states in use, refused past a maximum (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self.used >= self.limit:
                raise RateLimited(
                    f"{self.used} denoise streams are running, the most this server runs at "
                    "once; try again shortly",
                    retry_after_s=1.0,
                    max_streams=self.limit,
                )
            self.used += 1

    def give(self) -> None:
        with self._lock:
            self.used -= 1


class DenoiseSession:
    """One client's live stream. Call ``close`` in a ``finally``: it frees the model state."""

    def __init__(
        self,
        stream: DenoiseStream,
        *,
        max_samples: int,
        max_message_bytes: int,
        release: Callable[[], None],
    ) -> None:
        self.sample_rate = stream.sample_rate
        self._stream = stream
        self._max_samples = max_samples
        self._max_message_bytes = max_message_bytes
        self._release: Callable[[], None] | None = release
        self._samples_in = 0
        self._samples_out = 0
        self._busy_s = 0.0

    async def feed(self, data: bytes) -> bytes:
        """Denoise one binary message; returns the output ready so far (maybe empty)."""
        samples = self._parse(data)
        if self._samples_in + samples.size > self._max_samples:
            limit_s = self._max_samples / self.sample_rate
            raise AudioDurationOutOfRange(
                f"the stream is longer than the limit of {limit_s:g} s; stop and start a new one",
                max_s=limit_s,
            )
        self._samples_in += samples.size
        return await self._run(self._stream.process, samples)

    async def finish(self) -> tuple[bytes, StreamSummary]:
        """The rest of the output, and what the stream did; the session is closed after."""
        try:
            tail = await self._run(self._stream.flush)
        finally:
            self.close()
        summary = StreamSummary(
            sample_rate=self.sample_rate,
            samples_in=self._samples_in,
            samples_out=self._samples_out,
            processing_ms=round(self._busy_s * 1000),
        )
        return tail, summary

    def close(self) -> None:
        """Free the model state and the slot (idempotent)."""
        self._stream.close()
        release, self._release = self._release, None
        if release is not None:
            release()

    async def _run(self, call: Callable[..., FloatArray], *args: FloatArray) -> bytes:
        started = time.perf_counter()
        out = await asyncio.to_thread(call, *args)
        self._busy_s += time.perf_counter() - started
        self._samples_out += out.size
        return out.astype("<f4", copy=False).tobytes()

    def _parse(self, data: bytes) -> FloatArray:
        if len(data) > self._max_message_bytes:
            raise PayloadTooLarge(
                f"a binary message holds {len(data)} bytes; the limit is "
                f"{self._max_message_bytes}: send shorter chunks",
                max_bytes=self._max_message_bytes,
                received_bytes=len(data),
            )
        if len(data) % 4:
            raise InvalidInput(
                f"a binary message must hold whole float32 samples (4 bytes each); "
                f"got {len(data)} bytes",
                received_bytes=len(data),
            )
        samples: FloatArray = np.frombuffer(data, dtype="<f4").astype(np.float32)
        finite = np.isfinite(samples)
        if not finite.all():
            bad = int(samples.size - np.count_nonzero(finite))
            raise InvalidAudio(
                f"the samples include {bad} NaN or infinite values", nonfinite_samples=bad
            )
        return samples


class DenoiseService:
    def __init__(
        self,
        *,
        engines: EngineRegistry,
        limits: LimitSettings,
        settings: DeepFilterSettings,
        backend: str = DENOISER,
    ) -> None:
        self._engines = engines
        self._limits = limits
        self._settings = settings
        self.backend = backend
        self._slots = _Slots(settings.max_streams)

    @property
    def active(self) -> int:
        """Uploads and streams holding a model state now."""
        return self._slots.used

    def engine(self) -> Denoiser:
        """The denoiser, loaded on first use (call from a worker thread: loading takes ~0.5 s)."""
        return self._engines.get_denoiser(self.backend)

    async def denoise_file(
        self, *, data: bytes, fmt: str | None = None, sample_rate: int | None = None
    ) -> DenoisedFile:
        """Denoise an upload; by default the result has its format and sample rate."""
        check_output(fmt, sample_rate)
        self._slots.take()
        try:
            return await asyncio.to_thread(self._denoise_file, data, fmt, sample_rate)
        finally:
            self._slots.give()

    def _denoise_file(self, data: bytes, fmt: str | None, sample_rate: int | None) -> DenoisedFile:
        started = time.perf_counter()
        decoded = decode_audio(data, max_seconds=self._limits.max_speech_audio_s)
        engine = self.engine()
        clean = engine.denoise(decoded.audio)
        out_format = (fmt or _format_of(decoded)).lower()
        encoded = encode_audio(clean, out_format, sample_rate=sample_rate)
        return DenoisedFile(
            data=encoded,
            media_type=media_type_of(out_format),
            format=out_format,
            sample_rate=sample_rate or decoded.sample_rate,
            duration_s=clean.duration_s,
            processing_ms=round((time.perf_counter() - started) * 1000),
            backend=engine.name,
        )

    async def open_session(self, *, sample_rate: object) -> DenoiseSession:
        """A live stream at ``sample_rate`` (one of STREAM_RATES)."""
        if (
            not isinstance(sample_rate, int)
            or isinstance(sample_rate, bool)
            or sample_rate not in STREAM_RATES
        ):
            raise UnsupportedSampleRate(
                f"sample_rate {sample_rate!r} is not supported for streams; use one of "
                f"{', '.join(map(str, STREAM_RATES))}",
                sample_rate=sample_rate,
                allowed=list(STREAM_RATES),
            )
        self._slots.take()
        try:
            stream = await asyncio.to_thread(lambda: self.engine().open_stream(sample_rate))
        except BaseException:
            self._slots.give()
            raise
        return DenoiseSession(
            stream,
            max_samples=int(self._limits.max_speech_audio_s * sample_rate),
            max_message_bytes=self._settings.max_ws_message_bytes,
            release=self._slots.give,
        )


def check_output(fmt: str | None, sample_rate: int | None) -> None:
    """Refuse an output format or sample rate a denoised file cannot have."""
    if fmt is not None and fmt.lower() not in SUPPORTED_OUTPUT_FORMATS:
        raise UnsupportedFormat(
            f"unsupported output format {fmt!r}; supported: {', '.join(SUPPORTED_OUTPUT_FORMATS)}",
            format=fmt,
            supported=list(SUPPORTED_OUTPUT_FORMATS),
        )
    if sample_rate is not None and not MIN_OUTPUT_RATE <= sample_rate <= MAX_OUTPUT_RATE:
        raise UnsupportedSampleRate(
            f"sample_rate {sample_rate} is out of range; use {MIN_OUTPUT_RATE} to "
            f"{MAX_OUTPUT_RATE} Hz",
            sample_rate=sample_rate,
            min=MIN_OUTPUT_RATE,
            max=MAX_OUTPUT_RATE,
        )


async def denoise_reference(
    engines: EngineRegistry, decoded: DecodedAudio
) -> tuple[DecodedAudio, bytes, dict[str, Any]]:
    """A voice's reference clip denoised, re-encoded as FLAC, and what to record in its meta.

    FLAC is lossless, so the cleaned clip is stored as cleaned (re-encoding an MP3 reference as
    MP3 would add a second generation of coding noise).
    """

    def run() -> tuple[Audio, str, str]:
        engine = engines.get_denoiser(DENOISER)
        return engine.denoise(decoded.audio), engine.name, engine.version

    clean, name, version = await asyncio.to_thread(run)
    data = await asyncio.to_thread(encode_audio, clean, "flac")
    cleaned = DecodedAudio(
        audio=clean,
        format="flac",
        subtype="PCM_16",
        channels=1,
        sample_rate=clean.sample_rate,
    )
    meta = {
        "denoised": True,
        "denoiser": name,
        "denoiser_version": version,
        "original_format": decoded.format,
    }
    return cleaned, data, meta


def _format_of(decoded: DecodedAudio) -> str:
    """The output format that matches an input's: Opus in OGG is "opus", not Vorbis "ogg"."""
    if decoded.format == "ogg" and decoded.subtype.upper() == "OPUS":
        return "opus"
    return decoded.format
