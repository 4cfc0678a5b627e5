"""What a synthesis is: the request, its result or queued job, the bounds of its parameters,
and the cache key that names its audio. No I/O here; ``synthesis.py`` runs them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from voxclone.engines.base import SynthesisParams

MIN_SPEED, MAX_SPEED = 0.25, 4.0
OPENAI_TTS_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15")
"""OpenAI's speech model names; each means the voice's own backend (POST /v1/audio/speech)."""
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 48000


def cache_key(
    *,
    voice_id: str,
    text: str,
    lang: str,
    backend: str,
    params: dict[str, Any],
    engine_version: str,
) -> str:
    """SHA-256 over the inputs that decide the audio, separated by NUL bytes (DESIGN.md)."""
    parts = [voice_id, text, lang, backend, json.dumps(params, sort_keys=True), engine_version]
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SynthesisRequest:
    voice_id: str
    text: str
    lang: str | None = None
    backend: str | None = None
    format: str = "wav"
    sample_rate: int | None = None
    speed: float = 1.0
    seed: int | None = None
    temperature: float | None = None

    def params(self, lang: str) -> SynthesisParams:
        return SynthesisParams(
            language=lang, speed=self.speed, temperature=self.temperature, seed=self.seed
        )


@dataclass(frozen=True, slots=True)
class SynthesizedAudio:
    data: bytes
    media_type: str
    duration_s: float
    voice_id: str | None
    backend: str
    synthesis_ms: int
    cache_hit: bool
    blob_key: str | None = None
    """Where the audio is stored (the synthesis cache's blob); None when it is not."""
    history_id: str | None = None
    """The id its history item gets: the one its watermark carries (None: not marked)."""


@dataclass(frozen=True, slots=True)
class QueuedJob:
    job_id: str
    status: str
    voice_id: str
    backend: str
