"""The one seam between the commands and what they act on.

A command says what it wants from a ``Backend``; ``open_backend`` picks, once per invocation,
either ``LocalBackend`` (the services in process, on the server's database and storage, as
``voxclone`` always did) or ``RemoteBackend`` (a deployment over HTTP through
``voxclone.client``, with ``--server URL`` or ``VOXCLONE_SERVER``). Both answer with the
client's result types, so a command prints the same thing either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from voxclone.client import HistoryItem, Job, Key, KeyIssued, StorySummary, Usage, Voice
from voxclone.client.provenance import Verification
from voxclone.client.voices import Consent, ConsentChallenge
from voxclone.client.watermark import Detection

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Target:
    """Where the commands act: ``server`` None means in process."""

    server: str | None = None
    api_key: str | None = None


@dataclass(frozen=True)
class Spoken:
    data: bytes
    duration_s: float
    cache_hit: bool


@dataclass(frozen=True)
class StoryMade:
    story_id: str
    tracks: int
    clips: int


@dataclass(frozen=True)
class Deleted:
    deleted: list[str]
    in_use: list[str]


class Backend(Protocol):
    # keys (admin)
    async def keys_create(self, *, label: str, rate_limit: int | None) -> KeyIssued: ...
    async def keys_list(self) -> list[Key]: ...
    async def keys_revoke(self, key_id: str) -> None: ...

    # voices
    async def voices_add(
        self,
        *,
        name: str,
        audio: bytes,
        filename: str,
        ref_text: str | None,
        backend: str | None,
        lang: str,
        progress: Progress,
    ) -> Voice: ...
    async def voices_list(self) -> list[Voice]: ...
    async def voices_delete(self, voice: str) -> str: ...
    async def consent_challenge(self, voice: str) -> ConsentChallenge: ...
    async def consent(self, voice: str, *, audio: bytes, filename: str) -> Consent: ...

    # provenance
    async def provenance_verify(
        self, *, audio: bytes, filename: str, manifest: bytes | None
    ) -> Verification: ...
    async def provenance_manifest(self, history_id: str) -> dict[str, Any]: ...
    async def watermark_detect(self, *, audio: bytes, filename: str) -> Detection: ...

    # speech
    async def say(
        self,
        *,
        text: str,
        voice: str,
        format: str,
        backend: str | None,
        lang: str | None,
        speed: float,
        progress: Progress,
    ) -> Spoken: ...
    async def transcribe(
        self,
        *,
        audio: bytes,
        filename: str,
        language: str | None,
        format: str,
        backend: str | None,
        progress: Progress,
    ) -> str: ...

    # history, usage, jobs
    async def history_list(
        self,
        *,
        search: str | None,
        voice: str | None,
        backend: str | None,
        starred: bool,
        limit: int,
    ) -> list[HistoryItem]: ...
    async def history_audio(self, history_id: str) -> tuple[bytes, str]: ...
    async def history_delete(self, ids: list[str]) -> Deleted: ...
    async def usage(
        self,
        *,
        all_keys: bool,
        start: str | None,
        end: str | None,
        group_by: str | None,
        key_id: str | None,
    ) -> Usage: ...
    async def jobs_wait(self, job_id: str, *, progress: Progress) -> Job: ...
    async def job_audio(self, job_id: str) -> bytes: ...

    # stories
    async def stories_create(
        self, *, name: str, script: str, cast: dict[str, str], gap: float | None
    ) -> StoryMade: ...
    async def stories_list(self) -> list[StorySummary]: ...
    async def stories_render(
        self, story_id: str, *, format: str, progress: Progress
    ) -> tuple[bytes, float]: ...


@asynccontextmanager
async def open_backend(target: Target, *, key: str | None) -> AsyncIterator[Backend]:
    """The backend for this invocation; ``key`` (a command's ``--key``) wins over the
    target's."""
    if target.server:
        from voxclone.cli.remote import RemoteBackend

        async with RemoteBackend.connect(target.server, key or target.api_key) as remote:
            yield remote
    else:
        from voxclone.cli.local import LocalBackend

        async with LocalBackend.start(key or target.api_key) as local:
            yield local
