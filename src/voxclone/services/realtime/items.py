"""The conversation of a realtime session: its items, as OpenAI's ``realtime.item`` objects."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

from voxclone.core.errors import InvalidInput
from voxclone.services.realtime.agent import Turn

ROLES = ("user", "assistant", "system")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


@dataclass(slots=True)
class Item:
    id: str
    role: str
    content_type: str
    """input_text, input_audio (user), text or audio (assistant)."""
    text: str = ""
    """The words: typed, transcribed, or the answer (what was spoken of it, once truncated)."""
    status: str = "completed"
    audio_ms: int = 0
    """An assistant audio item: the audio sent of it."""
    sentences: list[tuple[int, str]] = field(default_factory=list)
    """An assistant audio item: each sentence and where its audio begins (ms)."""
    transcribed: asyncio.Future[str] | None = None
    """A user audio item: its transcript, once Whisper has heard it."""

    def as_dict(self) -> dict[str, Any]:
        part: dict[str, Any]
        if self.content_type == "input_audio":
            done = self.transcribed is not None and self.transcribed.done()
            part = {"type": "input_audio", "transcript": self.text if done else None}
        elif self.content_type == "audio":
            part = {"type": "audio", "transcript": self.text}
        else:
            part = {"type": self.content_type, "text": self.text}
        return {
            "id": self.id,
            "object": "realtime.item",
            "type": "message",
            "status": self.status,
            "role": self.role,
            "content": [part],
        }

    def turn(self) -> Turn:
        return Turn(role=self.role, text=self.text)

    def truncate(self, audio_end_ms: int) -> None:
        """Keep the audio up to ``audio_end_ms`` and the sentences whose audio began before."""
        self.audio_ms = min(self.audio_ms, audio_end_ms)
        spoken = [text for start, text in self.sentences if start < audio_end_ms]
        self.sentences = [(s, t) for s, t in self.sentences if s < audio_end_ms]
        self.text = " ".join(spoken)


def item_from_event(body: object) -> Item:
    """An item of ``conversation.item.create``: a text message from the user, the assistant or
    the system (function calls and audio content are not supported)."""
    if not isinstance(body, dict):
        raise InvalidInput("item must be an object", param="item")
    if body.get("type", "message") != "message":
        raise InvalidInput(
            f"item.type {body.get('type')!r} is not supported; only message items are",
            param="item.type",
        )
    role = body.get("role")
    if role not in ROLES:
        raise InvalidInput("item.role must be user, assistant or system", param="item.role")
    content = body.get("content")
    if not isinstance(content, list) or not content:
        raise InvalidInput("item.content must be a non-empty list", param="item.content")
    texts = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in ("input_text", "text") or not isinstance(part.get("text"), str):
            raise InvalidInput(
                'each content part must be {"type": "input_text", "text": ...} (or "text" for '
                "the assistant); audio content is sent with input_audio_buffer.append",
                param="item.content",
            )
        texts.append(part["text"])
    item_id = body.get("id")
    if item_id is not None and (not isinstance(item_id, str) or not 0 < len(item_id) <= 64):
        raise InvalidInput("item.id must be a string of at most 64 characters", param="item.id")
    return Item(
        id=item_id or new_id("item"),
        role=str(role),
        content_type="text" if role == "assistant" else "input_text",
        text=" ".join(texts),
    )
