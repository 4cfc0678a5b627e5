"""``GET /v1/audio/voices``: the voices an OpenAI-style speech client can name, in the shape
Open WebUI reads from an OpenAI-compatible server (``{"voices": [{"id", "name"}]}``), with
voxclone's extra fields beside them: the key's own ready voices first, then OpenAI's voice names
(aliases of stock voices), then every stock voice of the built-in engines."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.services.stock_voices import OPENAI_VOICES

router = APIRouter(tags=["openai-compatible"])
MAX_OWN_VOICES = 1000


class AudioVoice(BaseModel):
    id: str = Field(description="What to send as ``voice`` to POST /v1/audio/speech.")
    name: str
    object: Literal["voice"] = "voice"
    category: Literal["cloned", "openai", "stock"] = Field(
        description="cloned: one of this key's voices; openai: OpenAI's name for a stock voice; "
        "stock: a built-in engine's voice."
    )
    backend: str = Field(description="The engine that speaks it (local: Kokoro, piper).")
    language: str
    gender: str | None = None
    stock_voice: str | None = Field(None, description="openai: the stock voice it speaks with.")


class AudioVoiceList(BaseModel):
    voices: list[AudioVoice]


@router.get("/v1/audio/voices", response_model=AudioVoiceList)
async def list_audio_voices(services: ServicesDep, user: UserKey) -> AudioVoiceList:
    """Every voice this key can speak in. Open WebUI (TTS engine OpenAI with this server as
    its base URL) fills its voice menu from ``id`` and ``name``."""
    assert user.key_id is not None
    own = await services.voices.list(key_id=user.key_id, limit=MAX_OWN_VOICES)
    voices = [
        AudioVoice(id=v.id, name=v.name, category="cloned", backend=v.backend, language=v.lang)
        for v in own
        if v.status == "ready"
    ]
    stock = services.voices.stock
    for alias, target in OPENAI_VOICES.items():
        found = stock.find(target)
        if found is not None:
            voices.append(
                AudioVoice(
                    id=alias,
                    name=alias.capitalize(),
                    category="openai",
                    backend=found.backend,
                    language=found.lang,
                    gender=found.gender,
                    stock_voice=found.id,
                )
            )
    voices.extend(
        AudioVoice(
            id=v.id,
            name=v.name,
            category="stock",
            backend=v.backend,
            language=v.lang,
            gender=v.gender,
        )
        for v in stock.list()
    )
    return AudioVoiceList(voices=voices)
