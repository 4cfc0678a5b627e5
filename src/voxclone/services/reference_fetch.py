"""Fetching a reference clip from a URL (``reference_audio_url``) instead of an upload.

Through the SSRF guard of ``outbound_http`` (public addresses only, each connection pinned to
the address checked), with the size cap of the upload it replaces, a time limit for the whole
fetch, and at most ``MAX_REDIRECTS`` redirects, followed here one by one so that each hop is
checked again. What arrives must look like audio to the decoder (``probe_audio``).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin

import httpx

from voxclone.audio.codec import probe_audio
from voxclone.core.errors import AudioTooLarge, InvalidAudio, UrlFetchFailed
from voxclone.engines.remote.urls import redact
from voxclone.services.outbound_http import UrlGuard

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class ReferenceFetcher:
    def __init__(self, *, guard: UrlGuard, timeout_s: float) -> None:
        self._guard = guard
        self._timeout_s = timeout_s

    async def fetch(self, url: str, *, field: str, max_bytes: int) -> bytes:
        """The audio at ``url``: UrlNotAllowed, UrlFetchFailed, AudioTooLarge or InvalidAudio
        (all 422, naming ``field``) when it may not or cannot be had."""
        url = await self._guard.check_url(url, field=field)
        async with self._guard.client(timeout_s=self._timeout_s, field=field) as client:
            try:
                async with asyncio.timeout(self._timeout_s):
                    data = await self._follow(client, url, field=field, max_bytes=max_bytes)
            except TimeoutError:
                raise UrlFetchFailed(
                    f"{field} {redact(url)!r} was not fetched within {self._timeout_s} s",
                    field=field,
                ) from None
            except httpx.HTTPError as exc:
                raise UrlFetchFailed(
                    f"{field} {redact(url)!r} could not be fetched: {type(exc).__name__}: {exc}",
                    field=field,
                ) from exc
        try:
            probe_audio(data)
        except InvalidAudio as exc:
            raise InvalidAudio(
                f"{field} {redact(url)!r} is not audio: {exc.message}", field=field
            ) from exc
        return data

    async def _follow(
        self, client: httpx.AsyncClient, url: str, *, field: str, max_bytes: int
    ) -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            async with client.stream("GET", url) as response:
                if response.status_code in REDIRECTS and "location" in response.headers:
                    url = self._guard.check_syntax(
                        urljoin(url, response.headers["location"]), field=field
                    )
                    continue
                if not 200 <= response.status_code < 300:
                    raise UrlFetchFailed(
                        f"{field} {redact(url)!r} answered HTTP {response.status_code}",
                        field=field,
                        status_code=response.status_code,
                    )
                return await _read_capped(response, field=field, max_bytes=max_bytes)
        raise UrlFetchFailed(f"{field} redirected more than {MAX_REDIRECTS} times", field=field)


async def _read_capped(response: httpx.Response, *, field: str, max_bytes: int) -> bytes:
    def too_large(size: int) -> AudioTooLarge:
        return AudioTooLarge(
            f"{field} is larger than the limit of {max_bytes} bytes",
            field=field,
            max_bytes=max_bytes,
            received_bytes=size,
        )

    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(int(declared))
    chunks: list[bytes] = []
    seen = 0
    async for chunk in response.aiter_bytes():
        seen += len(chunk)
        if seen > max_bytes:
            raise too_large(seen)
        chunks.append(chunk)
    return b"".join(chunks)
