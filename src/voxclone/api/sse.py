"""Server-sent events as OpenAI's audio endpoints send them: one ``data: {json}`` line per
event and a blank line, ``Content-Type: text/event-stream``. A failure after the first event
cannot change the status any more; it is sent as an ``error`` event (OpenAI's streaming error
shape, which the official SDK raises as an APIError) and the stream ends."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from voxclone.core.errors import VoxcloneError

log = logging.getLogger(__name__)

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def error_event(exc: Exception) -> bytes:
    if isinstance(exc, VoxcloneError):
        code, message = exc.code, exc.message
    else:
        code, message = "internal_error", "the stream failed part way"
    return sse_event({"type": "error", "error": {"code": code, "message": message}})


def sse_response(
    events: AsyncIterator[dict[str, Any]], *, headers: dict[str, str] | None = None
) -> StreamingResponse:
    """``events`` as an event stream; an error part way becomes a last ``error`` event."""

    async def body() -> AsyncIterator[bytes]:
        try:
            async for event in events:
                yield sse_event(event)
        except Exception as exc:
            log.warning("an event stream failed part way: %s", exc)
            yield error_event(exc)

    return StreamingResponse(
        body(), media_type="text/event-stream", headers={**HEADERS, **(headers or {})}
    )
