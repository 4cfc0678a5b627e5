"""Request bodies and the voice shape of the ElevenLabs-compatible API, as the official SDK sends
and parses them (``elevenlabs.types``). Unknown request fields are ignored, as ElevenLabs does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voxclone.api.pronunciation_schemas import LOCATORS_DESCRIPTION, PronunciationLocator
from voxclone.db.tables import Voice
from voxclone.services.stock_voices import StockVoice
from voxclone.services.voice_references import Sample

DEFAULT_SETTINGS: dict[str, Any] = {
    "stability": 0.5,
    "similarity_boost": 0.75,
    "style": 0.0,
    "use_speaker_boost": True,
    "speed": 1.0,
}
"""ElevenLabs' defaults (``GET /v1/voices/settings/default``); stability 0.5 is the engine's
own sampling temperature (``voice_settings.temperature_for``)."""
SETTINGS_META = "elevenlabs_settings"
"""Where a cloned voice keeps its edited settings: ``voice.meta[SETTINGS_META]``."""


class ElevenLabsVoiceSettings(BaseModel):
    """``speed`` and ``stability`` are honoured (``services/voice_settings.py``); the rest are
    kept and returned but change nothing."""

    model_config = ConfigDict(extra="ignore")

    stability: float | None = Field(None, ge=0.0, le=1.0)
    similarity_boost: float | None = Field(None, ge=0.0, le=1.0)
    style: float | None = Field(None, ge=0.0, le=1.0)
    use_speaker_boost: bool | None = None
    speed: float | None = Field(None, ge=0.25, le=4.0)


class TextToSpeechRequest(BaseModel):
    """The body of ``POST /v1/text-to-speech/{voice_id}[/stream][/with-timestamps]``."""

    model_config = ConfigDict(extra="ignore")

    text: str
    model_id: str | None = Field(
        None, description="eleven_* (the voice's own engine) or a voxclone backend name."
    )
    language_code: str | None = None
    voice_settings: ElevenLabsVoiceSettings | None = None
    seed: int | None = Field(None, ge=0, le=4294967295)
    previous_text: str | None = Field(None, description="Accepted and ignored.")
    next_text: str | None = Field(None, description="Accepted and ignored.")
    previous_request_ids: list[str] | None = Field(None, description="Accepted and ignored.")
    next_request_ids: list[str] | None = Field(None, description="Accepted and ignored.")
    pronunciation_dictionary_locators: list[PronunciationLocator] | None = Field(
        None, max_length=3, description=LOCATORS_DESCRIPTION
    )


class HistoryDownloadRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    history_item_ids: list[str] = Field(..., min_length=1)
    output_format: str | None = Field(None, description="Accepted and ignored: items as stored.")


def settings_of(voice: Voice | StockVoice) -> dict[str, Any]:
    """The voice's settings: its edited ones over ElevenLabs' defaults."""
    return {**DEFAULT_SETTINGS, **stored_settings(voice)}


def stored_settings(voice: Voice | StockVoice) -> dict[str, Any]:
    """The settings edited on the voice (``POST /v1/voices/{id}/settings/edit``), no defaults:
    what a synthesis without ``voice_settings`` uses."""
    if isinstance(voice, StockVoice):
        return {}
    stored = (voice.meta or {}).get(SETTINGS_META, {})
    return dict(stored) if isinstance(stored, dict) else {}


def voice_shape(voice: Voice | StockVoice, samples: list[Sample] | None = None) -> dict[str, Any]:
    """A voice as ElevenLabs' ``Voice``: stock voices are ``premade``, the key's ``cloned``."""
    stock = isinstance(voice, StockVoice)
    labels = {str(k): str(v) for k, v in (voice.labels or {}).items()}
    labels.setdefault("language", voice.lang)
    return {
        "voice_id": voice.id,
        "name": voice.name,
        "category": "premade" if stock else "cloned",
        "labels": labels,
        "description": voice.description,
        "preview_url": None,
        "samples": None if samples is None else [_sample(s) for s in samples],
        "settings": settings_of(voice),
        "fine_tuning": {"is_allowed_to_fine_tune": False, "state": {}},
        "available_for_tiers": [],
        "high_quality_base_model_ids": [voice.backend],
        "created_at_unix": unix(voice.created_at),
        "is_owner": not stock,
        "is_legacy": False,
        "is_mixed": stock and len(getattr(voice, "blend", {})) > 1,
    }


def _sample(sample: Sample) -> dict[str, Any]:
    return {
        "sample_id": sample.id,
        "file_name": f"sample-{sample.position + 1}.{sample.format}",
        "mime_type": f"audio/{sample.format}",
        "duration_secs": sample.duration_s,
    }


def unix(moment: datetime) -> int:
    """Seconds since the epoch; a naive time (SQLite's) is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())
