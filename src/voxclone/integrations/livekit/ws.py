"""voxclone's WebSocket conventions on the client side: the URL from the base URL, and an
``{"type": "error"}`` message with its close code as a LiveKit ``APIStatusError``."""

from __future__ import annotations

from typing import Any

import aiohttp
from livekit.agents import APIConnectionError, APIError, APIStatusError

# voxclone's close codes (api/ws.py) as the HTTP status the same error has over HTTP.
CLOSE_STATUS = {
    1003: 400,
    1008: 403,
    1009: 413,
    1011: 500,
    1013: 503,
    4402: 402,
    4404: 404,
    4409: 409,
    4429: 429,
}


def ws_url(base_url: str, path: str) -> str:
    if base_url.startswith("https://"):
        return "wss://" + base_url.removeprefix("https://") + path
    return "ws://" + base_url.removeprefix("http://") + path


def receive_error(ws: aiohttp.ClientWebSocketResponse, error: dict[str, Any] | None) -> APIError:
    """Why the socket ended before its ``final``: the server's error, or a lost connection."""
    code = ws.close_code
    if error is None:
        return APIConnectionError(f"voxclone closed the WebSocket early (close code {code})")
    message = f"{error.get('error', 'error')}: {error.get('message', '')}"
    status = CLOSE_STATUS.get(code or 0, 400)
    return APIStatusError(message, status_code=status, body=error)
