"""Stock voices in voxclone's own voice shape (``VoicePublic`` with ``category: "stock"``)."""

from __future__ import annotations

from voxclone.api.schemas import VoicePublic
from voxclone.db.tables import Voice
from voxclone.services.stock_voices import StockVoice


def stock_public(voice: StockVoice) -> VoicePublic:
    return VoicePublic(
        voice_id=voice.id,
        name=voice.name,
        category=voice.category,
        backend=voice.backend,
        lang=voice.lang,
        family=None,
        ref_text=None,
        ref_text_auto=False,
        ref_format=None,
        ref_duration_s=None,
        ref_sample_rate=None,
        status=voice.status,
        progress=voice.progress,
        error=None,
        description=voice.description,
        tags=voice.tags,
        labels=voice.labels,
        created_at=voice.created_at,
        updated_at=voice.updated_at,
    )


def any_public(voice: Voice | StockVoice) -> VoicePublic:
    return stock_public(voice) if isinstance(voice, StockVoice) else VoicePublic.of(voice)
