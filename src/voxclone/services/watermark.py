"""Detecting the audio watermark (docs/watermark.md): "which of our history items is this
file?" for any copy of it.

The mark (``synthesis/mark.py`` puts it in) carries 48 bits: this deployment's 16-bit id and the
first 32 bits of the history item's id (a UUID4, so 32 random bits). Detection reads the bits
back from any copy (re-encoded, resampled, trimmed) and finds the items whose ids start with
them; like provenance, any caller learns *whether* this deployment made the file,
only the owning key (or the admin) *which* item.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from voxclone.audio import decode_audio
from voxclone.audio import watermark as mark
from voxclone.db.tables import HistoryItem
from voxclone.services.history import HistoryService
from voxclone.services.keys import Principal
from voxclone.services.synthesis.mark import ID_BITS, Marker


@dataclass(frozen=True, slots=True)
class WatermarkVerdict:
    detected: bool
    confidence: float
    deployment: int | None = None
    """The deployment id read from the mark (any deployment's, not only this one's)."""
    history_prefix: str | None = None
    """The first 8 hex digits of the history item's id, as read."""
    ours: bool = False
    """The mark names this deployment."""
    item: HistoryItem | None = None
    """The item, when this deployment made it and the caller may see it."""
    others: bool = False
    """An item of this deployment matches but belongs to another key (details withheld)."""
    sync_z: float = 0.0

    @property
    def reason(self) -> str:
        if not self.detected:
            return "no voxclone watermark found (too short, silent, or not marked)"
        if not self.ours:
            return f"a voxclone watermark of another deployment ({self.deployment})"
        if self.item is not None:
            return "this deployment's watermark, naming a history item this key may see"
        if self.others:
            return "this deployment's watermark, naming another key's item (details withheld)"
        return "this deployment's watermark; its history item is gone"


class WatermarkService:
    """Detection; the marking itself is the synthesis pipeline's ``Marker``."""

    def __init__(self, *, marker: Marker, history: HistoryService) -> None:
        self.marker = marker
        self._history = history

    async def detect(
        self, *, caller: Principal, data: bytes, max_seconds: float
    ) -> WatermarkVerdict:
        """Look for the mark in an uploaded file (InvalidAudio when it is not audio)."""
        found = await asyncio.to_thread(_detect, data, max_seconds)
        if not found.detected or found.payload is None:
            return WatermarkVerdict(detected=False, confidence=0.0, sync_z=found.sync_z)
        deployment = found.payload >> ID_BITS
        prefix = f"{found.payload & 0xFFFFFFFF:08x}"
        verdict = WatermarkVerdict(
            detected=True,
            confidence=found.confidence,
            deployment=deployment,
            history_prefix=prefix,
            ours=deployment == self.marker.deployment,
            sync_z=found.sync_z,
        )
        if not verdict.ours:
            return verdict
        items = await self._history.by_id_prefix(prefix)
        own = [i for i in items if caller.is_admin or i.key_id == caller.key_id]
        return WatermarkVerdict(
            detected=True,
            confidence=found.confidence,
            deployment=deployment,
            history_prefix=prefix,
            ours=True,
            item=own[0] if own else None,
            others=bool(items) and not own,
            sync_z=found.sync_z,
        )


def _detect(data: bytes, max_seconds: float) -> mark.Detection:
    return mark.detect(decode_audio(data, max_seconds=max_seconds).audio)
