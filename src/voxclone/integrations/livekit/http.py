"""What the TTS and STT share: the key's headers, one aiohttp session, and voxclone's error
body translated into LiveKit's API errors at the one place that reads it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import aiohttp
from livekit.agents import APIConnectionError, APIError, APIStatusError, APITimeoutError


def auth_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


class Session:
    """An aiohttp session: the caller's (LiveKit's job session) or one of our own, made on
    first use and closed by ``aclose``."""

    def __init__(self, session: aiohttp.ClientSession | None) -> None:
        self._given = session
        self._own: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._given is not None:
            return self._given
        if self._own is None or self._own.closed:
            self._own = aiohttp.ClientSession()
        return self._own

    async def aclose(self) -> None:
        if self._own is not None:
            await self._own.close()
            self._own = None


async def raise_for_status(resp: aiohttp.ClientResponse) -> None:
    """A 4xx/5xx as ``APIStatusError`` with voxclone's message (``{"error", "message"}``)."""
    if resp.status < 400:
        return
    text = await resp.text()
    raise status_error(text, status_code=resp.status, request_id=resp.headers.get("X-Request-Id"))


def status_error(text: str, *, status_code: int, request_id: str | None = None) -> APIStatusError:
    body: object = text
    message = text or f"HTTP {status_code}"
    with contextlib.suppress(ValueError):
        body = json.loads(text)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = f"{body.get('error', 'error')}: {body['message']}"
    return APIStatusError(message, status_code=status_code, request_id=request_id, body=body)


@contextlib.contextmanager
def api_errors(base_url: str) -> Iterator[None]:
    """What goes wrong talking to the server, as LiveKit's errors (its retries read them)."""
    try:
        yield
    except APIError:
        raise
    except TimeoutError:
        raise APITimeoutError() from None
    except aiohttp.ClientError as exc:
        raise APIConnectionError(f"voxclone at {base_url}: {exc}") from exc
