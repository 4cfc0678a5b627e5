"""Mark: the watermark step between render and encode (docs/watermark.md).

A plan whose audio is marked gets its history item's id before it is rendered: the mark
carries the deployment's 16-bit id and the id's first 32 bits, and the record step gives the
item that id (``SynthesizedAudio.history_id``). The audio is marked before it is encoded, so
the bytes served, cached and kept in the history (and their SHA-256, for provenance) are the
marked ones. Built only when the watermark is on: off, nothing of it is on the path.
"""

from __future__ import annotations

from voxclone.audio import watermark
from voxclone.config.trust import WatermarkSettings
from voxclone.core.types import Audio
from voxclone.services.stock_voices import StockVoice
from voxclone.services.synthesis.plan import Plan

ID_BITS = 32


def payload_of(*, deployment: int, history_id: str) -> int:
    """The 48 bits a mark carries for ``history_id`` (a UUID) on ``deployment``."""
    return deployment << ID_BITS | int(history_id[:8], 16)


class Marker:
    def __init__(self, *, settings: WatermarkSettings, deployment: int) -> None:
        self.settings = settings
        self.deployment = deployment

    def marks(self, plan: Plan) -> bool:
        """Whether the audio of ``plan`` is marked (cloned voices; stock ones if set)."""
        return self.settings.stock_voices or not isinstance(plan.voice, StockVoice)

    def mark(self, audio: Audio, *, history_id: str) -> Audio:
        """``audio`` carrying this deployment and ``history_id`` (CPU-bound: off the loop)."""
        payload = payload_of(deployment=self.deployment, history_id=history_id)
        return watermark.embed(audio, payload, strength=self.settings.strength)


class StreamMarker:
    """Marks the chunks of one stream as they are made, each where it lies in the stream so
    that they share one grid of chips (a detector sees one mark, not one per chunk), and keeps
    the unmarked chunks so the whole file (cached, kept) can be marked as one."""

    def __init__(self, marker: Marker, *, history_id: str) -> None:
        self._marker = marker
        self.history_id = history_id
        self._payload = payload_of(deployment=marker.deployment, history_id=history_id)
        self._at = 0  # samples at the watermark's rate so far
        self.originals: list[Audio] = []

    def mark_next(self, chunk: Audio) -> Audio:
        """The next chunk, marked (CPU-bound: off the loop)."""
        self.originals.append(chunk)
        marked = watermark.embed(
            chunk, self._payload, strength=self._marker.settings.strength, start=self._at
        )
        self._at += round(len(chunk.samples) * watermark.RATE / chunk.sample_rate)
        return marked

    def mark_whole(self, audio: Audio) -> Audio:
        """The stream's chunks joined as one file, marked with the same id."""
        return self._marker.mark(audio, history_id=self.history_id)
