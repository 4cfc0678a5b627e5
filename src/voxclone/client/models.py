"""Result types shared by several resource groups: the model base, jobs, and audio.

Models keep fields the server adds later (``extra="allow"``), so an older client still reads
a newer server. They mirror the server's ``*Public`` schemas without importing them: the
client must not depend on server code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class JobQueued(Model):
    """A 202 answer: the work runs as a job; ``jobs.wait(job_id)`` follows it."""

    job_id: str
    status: str


TERMINAL = ("ready", "failed", "cancelled")


class Job(Model):
    job_id: str
    kind: str
    status: str
    progress: float
    voice_id: str | None = None
    backend: str | None = None
    audio_url: str | None = None
    audio_duration_s: float | None = None
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    result: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


class JobPage(Model):
    jobs: list[Job]
    has_more: bool
    next_cursor: str | None = None


@dataclass(frozen=True)
class Audio:
    """Audio the server sent, with what its headers say about it."""

    data: bytes
    content_type: str
    headers: httpx.Headers

    @classmethod
    def of(cls, response: httpx.Response) -> Audio:
        kind = response.headers.get("content-type", "application/octet-stream")
        return cls(response.content, kind.split(";")[0].strip(), response.headers)

    @property
    def duration_s(self) -> float | None:
        value = self.headers.get("x-audio-duration")
        return float(value) if value else None

    @property
    def cache_hit(self) -> bool:
        return str(self.headers.get("x-cache", "")).upper() == "HIT"

    @property
    def voice_id(self) -> str | None:
        return self._header("x-voice-id")

    @property
    def backend(self) -> str | None:
        return self._header("x-backend")

    @property
    def job_id(self) -> str | None:
        return self._header("x-job-id")

    def _header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_bytes(self.data)
        return target
