"""The consent policy as the synthesis planner applies it (services/consent.py records consents)."""

from __future__ import annotations

from voxclone.config import ConsentSettings
from voxclone.core.errors import ConsentRequired
from voxclone.db.tables import Voice
from voxclone.services.stock_voices import StockVoice


def check_consent(voice: Voice | StockVoice, settings: ConsentSettings | None) -> None:
    """Refuse a cloned voice without an accepted consent, when the deployment requires one."""
    if settings is None or not settings.required or isinstance(voice, StockVoice):
        return
    if not (voice.meta or {}).get("consent_id"):
        raise ConsentRequired(
            f"voice {voice.id} cannot speak until its owner consents: get a phrase with "
            f"POST /v1/voices/{voice.id}/consent/challenge and send a recording of it to "
            f"POST /v1/voices/{voice.id}/consent",
            voice_id=voice.id,
        )
