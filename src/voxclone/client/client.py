"""``Client`` and ``AsyncClient``: the resource groups over one httpx client each."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx

from voxclone.client import (
    account,
    history,
    jobs,
    provenance,
    speakers,
    speech,
    stories,
    synthesis,
    voices,
    watermark,
)
from voxclone.client.retry import RetryPolicy
from voxclone.client.transport import AsyncTransport, SyncTransport, client_options

DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)


class Client:
    """``Client("http://host:8000", api_key="vx_...")``; use it as a context manager or
    ``close()`` it. ``timeout`` (seconds or an ``httpx.Timeout``) applies to each request;
    uploads and long calls set their own. 429 and 503 are retried per ``retry``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(**client_options(base_url, api_key, timeout), transport=transport)
        t = SyncTransport(self.http, retry or RetryPolicy())
        self.voices = voices.Voices(t)
        self.synthesis = synthesis.Synthesis(t)
        self.jobs = jobs.Jobs(t)
        self.transcriptions = speech.Transcriptions(t)
        self.audio = speech.Denoise(t)
        self.speakers = speakers.Speakers(t)
        self.history = history.History(t)
        self.stories = stories.Stories(t)
        self.account = account.Account(t)
        self.keys = account.Keys(t)
        self.provenance = provenance.Provenance(t)
        self.watermark = watermark.Watermark(t)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient:
    """The same API as ``Client``, every call awaited: ``async with AsyncClient(...)``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = httpx.AsyncClient(
            **client_options(base_url, api_key, timeout), transport=transport
        )
        t = AsyncTransport(self.http, retry or RetryPolicy())
        self.voices = voices.AsyncVoices(t)
        self.synthesis = synthesis.AsyncSynthesis(t)
        self.jobs = jobs.AsyncJobs(t)
        self.transcriptions = speech.AsyncTranscriptions(t)
        self.audio = speech.AsyncDenoise(t)
        self.speakers = speakers.AsyncSpeakers(t)
        self.history = history.AsyncHistory(t)
        self.stories = stories.AsyncStories(t)
        self.account = account.AsyncAccount(t)
        self.keys = account.AsyncKeys(t)
        self.provenance = provenance.AsyncProvenance(t)
        self.watermark = watermark.AsyncWatermark(t)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
