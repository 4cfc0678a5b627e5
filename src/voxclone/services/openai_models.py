"""The models of OpenAI's ``GET /v1/models``: the OpenAI model names voxclone answers to, and
every text-to-speech and speech-to-text engine of the registry by its own name.

OpenAI's speech names (``tts-1``…) mean the voice's own backend; ``whisper-1`` means the
default speech-to-text engine. Nothing is loaded to list them.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxclone.core.errors import NotFound
from voxclone.engines.registry import EngineRegistry
from voxclone.services.synthesis_request import OPENAI_TTS_MODELS
from voxclone.services.transcription import OPENAI_MODELS as OPENAI_STT_MODELS


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    kind: str
    """``tts`` or ``stt``."""
    alias: bool
    """An OpenAI name standing for a default engine, rather than an engine's own name."""


def list_models(engines: EngineRegistry) -> list[ModelEntry]:
    """OpenAI's TTS names, the TTS engines, OpenAI's STT names, the STT engines, in that order."""
    entries = [
        *(ModelEntry(name, "tts", alias=True) for name in OPENAI_TTS_MODELS),
        *(ModelEntry(name, "tts", alias=False) for name in engines.names("tts")),
        *(ModelEntry(name, "stt", alias=True) for name in OPENAI_STT_MODELS),
        *(ModelEntry(name, "stt", alias=False) for name in engines.names("stt")),
    ]
    seen: set[str] = set()
    unique = []
    for entry in entries:  # an engine named like an OpenAI model is served under that name once
        if entry.id not in seen:
            seen.add(entry.id)
            unique.append(entry)
    return unique


def get_model(engines: EngineRegistry, model_id: str) -> ModelEntry:
    for entry in list_models(engines):
        if entry.id == model_id:
            return entry
    raise NotFound(f"model {model_id!r} not found; see GET /v1/models", model=model_id)
