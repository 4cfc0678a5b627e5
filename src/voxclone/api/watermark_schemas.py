"""What POST /v1/watermark/detect answers (and POST /v1/provenance/verify's ``watermark``)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from pydantic import BaseModel, Field
from starlette.routing import NoMatchFound

from voxclone.api.history_schemas import HistoryItemPublic
from voxclone.services.watermark import WatermarkVerdict

ItemUrls = Callable[[str], tuple[str, str | None]]
"""A history item's audio URL and manifest URL (None: provenance off), from its id."""


class WatermarkPayload(BaseModel):
    deployment: int = Field(description="The 16-bit id of the deployment that made the file.")
    history_prefix: str = Field(description="The first 8 hex digits of its history item's id.")
    history_id: str | None = Field(
        None, description="The whole id, when the caller may see the item."
    )


class DetectResult(BaseModel):
    detected: bool
    """A voxclone watermark was found (its CRC checked)."""
    confidence: float = Field(description="0 to 1: how far above the detection threshold.")
    ours: bool = Field(description="The mark names this deployment.")
    payload: WatermarkPayload | None = None
    history: HistoryItemPublic | None = Field(
        None, description="The item, when this deployment made it and the caller may see it."
    )
    reason: str


def request_urls(request: Request) -> ItemUrls:
    """The item's audio and manifest URLs in this app (the manifest's only with provenance)."""

    def urls(history_id: str) -> tuple[str, str | None]:
        audio = str(request.url_for("history_audio", history_id=history_id))
        try:
            return audio, str(request.url_for("provenance_manifest", history_id=history_id))
        except NoMatchFound:
            return audio, None

    return urls


def detect_result(verdict: WatermarkVerdict, *, urls: ItemUrls) -> DetectResult:
    item = verdict.item
    payload = None
    if verdict.deployment is not None and verdict.history_prefix is not None:
        payload = WatermarkPayload(
            deployment=verdict.deployment,
            history_prefix=verdict.history_prefix,
            history_id=item.id if item is not None else None,
        )
    history = None
    if item is not None:
        audio_url, manifest_url = urls(item.id)
        history = HistoryItemPublic.of(item, audio_url=audio_url, manifest_url=manifest_url)
    return DetectResult(
        detected=verdict.detected,
        confidence=round(verdict.confidence, 3),
        ours=verdict.ours,
        payload=payload,
        history=history,
        reason=verdict.reason,
    )
