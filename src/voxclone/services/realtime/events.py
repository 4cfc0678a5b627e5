"""The server events of a realtime session, sent through whatever carries them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from voxclone.core.errors import EngineError, InvalidInput, VoxcloneError
from voxclone.services.realtime.items import new_id

Send = Callable[[dict[str, Any]], Awaitable[None]]


def protocol_error(code: str, message: str, **details: Any) -> InvalidInput:
    """An error with one of OpenAI's own codes (``input_audio_buffer_commit_empty``...)."""
    error = InvalidInput(message, **details)
    error.code = code
    return error


def error_type(exc: VoxcloneError) -> str:
    return "server_error" if isinstance(exc, EngineError) else "invalid_request_error"


class Events:
    def __init__(self, send: Send) -> None:
        self._send = send

    async def emit(self, kind: str, **fields: Any) -> None:
        await self._send({"type": kind, "event_id": new_id("event"), **fields})

    async def error(self, exc: VoxcloneError, *, event_id: str | None = None) -> None:
        details = dict(exc.details)
        await self.emit(
            "error",
            error={
                "type": error_type(exc),
                "code": exc.code,
                "message": exc.message,
                "param": details.pop("param", details.get("field")),
                "event_id": event_id,
                "details": details,
            },
        )
