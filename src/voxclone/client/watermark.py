"""The audio watermark: "did this deployment make this file, and which item is it?" for any
copy of generated audio, re-encoded, resampled or trimmed (docs/watermark.md)."""

from __future__ import annotations

from voxclone.client import calls as c
from voxclone.client.calls import Call, FileInput, Op
from voxclone.client.history import HistoryItem
from voxclone.client.models import Model
from voxclone.client.resource import AsyncResource, SyncResource, async_op, sync_op


class WatermarkPayload(Model):
    deployment: int
    """The 16-bit id of the deployment that made the file."""
    history_prefix: str
    """The first 8 hex digits of its history item's id."""
    history_id: str | None = None
    """The whole id, when the caller may see the item."""


class Detection(Model):
    detected: bool
    confidence: float
    ours: bool
    """The mark names the deployment that answered."""
    reason: str
    payload: WatermarkPayload | None = None
    history: HistoryItem | None = None
    """The item, when that deployment made it and the caller may see it."""


def detect(audio: FileInput) -> Op[Detection]:
    """Look for the watermark in ``audio`` (a path, bytes, a file, or (name, bytes))."""
    files = {"file": c.upload(audio, default_name="audio.wav")}
    return c.model(Call("POST", "/v1/watermark/detect", files=files, timeout=300), Detection)


class Watermark(SyncResource):
    detect = sync_op(detect)


class AsyncWatermark(AsyncResource):
    detect = async_op(detect)
