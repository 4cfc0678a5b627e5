"""Clips as they are edited: their content (text and voice, a history item, uploaded audio)
and times, checked before they are kept. ``StoryService`` finds the clip and its track."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from voxclone.audio import decode_audio
from voxclone.config import LimitSettings, StorySettings
from voxclone.core.errors import Unprocessable
from voxclone.core.types import parse_id
from voxclone.db.tables import StoryClip
from voxclone.services import story_checks as checks
from voxclone.services.history import HistoryService
from voxclone.services.voices import VoiceService

CLIP_COLUMNS = ("start_s", "trim_in_s", "trim_out_s", "gain_db", "fade_in_s", "fade_out_s")
ENGINE_PARAMS = ("backend", "lang", "speed", "seed")


def new_clip(**fields: Any) -> StoryClip:
    """A clip row with every default set now (column defaults apply only on insert)."""
    defaults: dict[str, Any] = {
        "start_s": 0.0,
        "trim_in_s": 0.0,
        "gain_db": 0.0,
        "fade_in_s": 0.0,
        "fade_out_s": 0.0,
        "params": {},
    }
    return StoryClip(**{**defaults, **{k: v for k, v in fields.items() if v is not None}})


def upload_key(story_id: str, clip_id: str) -> str:
    return f"stories/{story_id}/clips/{clip_id}/upload"


class ClipEditor:
    def __init__(
        self,
        *,
        voices: VoiceService,
        history: HistoryService | None,
        limits: LimitSettings,
        settings: StorySettings,
    ) -> None:
        self._voices = voices
        self.history = history
        self._limits = limits
        self._settings = settings

    async def upload_duration(self, audio: bytes) -> float:
        """Seconds of an uploaded clip, decoded whole (refused past the bounds, or unreadable)."""
        if len(audio) > self._settings.max_upload_bytes:
            raise Unprocessable(
                f"the clip is larger than the limit of {self._settings.max_upload_bytes} bytes",
                field="audio",
                max_bytes=self._settings.max_upload_bytes,
            )
        decoded = await asyncio.to_thread(
            decode_audio, audio, max_seconds=self._settings.max_length_s
        )
        return decoded.audio.duration_s

    async def apply(self, *, key_id: str, clip: StoryClip, changes: Mapping[str, Any]) -> None:
        """Set ``changes`` (all but ``track_id``) on ``clip``, then check it whole. A voice or
        history item of another key is not found."""
        for field in CLIP_COLUMNS:
            if field in changes and (changes[field] is not None or field == "trim_out_s"):
                setattr(clip, field, changes[field])
        params = dict(clip.params or {})
        if "start_s" in changes and changes["start_s"] is not None:
            params.pop("flow_gap_s", None)  # placed by hand: it no longer flows
        content = ("text", "voice_id", *ENGINE_PARAMS)
        if any(field in changes for field in content) and clip.kind == "text":
            if "text" in changes:
                clip.text = checks.check_text(changes["text"], self._limits)
            if changes.get("voice_id") is not None:
                clip.voice_id = (
                    await self._voices.get(key_id=key_id, voice_id=changes["voice_id"])
                ).id
            for field in ENGINE_PARAMS:
                if field in changes:
                    params[field] = changes[field]
            clip.duration_s = None  # what was rendered no longer says how long it will be
        if clip.kind == "history" and changes.get("history_id") is not None:
            clip.history_id, clip.duration_s = await self._history_item(key_id, changes)
        clip.params = {k: v for k, v in params.items() if v is not None}
        checks.check_clip(clip)

    async def _history_item(self, key_id: str, changes: Mapping[str, Any]) -> tuple[str, float]:
        if self.history is None:
            raise Unprocessable("history clips need the generation history", field="history_id")
        history_id = parse_id(str(changes["history_id"]), what="history_id")
        item = await self.history.get(key_id=key_id, history_id=history_id)
        return history_id, float(item.duration_s)
