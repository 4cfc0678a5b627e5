"""Requests as data, shared by the sync and the async client.

Every API call is written once, as an *operation*: a generator that yields ``Call`` (send this
request, give me the response) or ``Sleep`` (wait this long) and returns the typed result. The
sync client runs operations with ``httpx.Client`` and ``time.sleep``, the async one with
``httpx.AsyncClient`` and ``asyncio.sleep`` (see ``transport``); nothing else differs.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
from pydantic import BaseModel

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

FileInput = bytes | str | Path | IO[bytes] | tuple[str, bytes]
"""An upload: bytes, a path, an open binary file, or ``(filename, bytes)``."""


@dataclass(frozen=True)
class Call:
    """One HTTP request, not yet sent."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: Mapping[str, str] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None
    """Overrides the client's timeout for this call (long transcriptions, renders)."""

    def httpx_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"method": self.method, "url": self.path}
        if self.params:
            kwargs["params"] = {k: v for k, v in self.params.items() if v is not None}
        if self.json is not None:
            kwargs["json"] = self.json
        if self.data:
            kwargs["data"] = {k: v for k, v in self.data.items() if v is not None}
        if self.files:
            kwargs["files"] = dict(self.files)
        if self.headers:
            kwargs["headers"] = dict(self.headers)
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return kwargs


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Call | Sleep
Op = Generator[Step, Any, T]
"""An operation: yields steps, is sent each Call's ``httpx.Response`` (None after a Sleep)."""


def send(call: Call) -> Generator[Step, Any, httpx.Response]:
    response = yield call
    assert isinstance(response, httpx.Response)
    return response


def sleep(seconds: float) -> Generator[Step, Any, None]:
    yield Sleep(seconds)


def model(call: Call, cls: type[M]) -> Op[M]:
    """Send ``call`` and read its JSON as ``cls``."""
    response = yield from send(call)
    return cls.model_validate(response.json())


def models(call: Call, cls: type[M]) -> Op[list[M]]:
    """Send ``call`` and read its JSON list as ``cls`` items."""
    response = yield from send(call)
    return [cls.model_validate(item) for item in response.json()]


def nothing(call: Call) -> Op[None]:
    yield from send(call)


def content(call: Call) -> Op[bytes]:
    response = yield from send(call)
    return response.content


def form(**fields: object) -> dict[str, str]:
    """Form fields as strings (booleans as true/false); None is left out."""
    out: dict[str, str] = {}
    for name, value in fields.items():
        if value is None:
            continue
        out[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def upload(value: FileInput, *, default_name: str = "audio") -> tuple[str, bytes, str]:
    """A multipart file part, read into memory (so a retry can send it again)."""
    if isinstance(value, tuple):
        name, data = value
    elif isinstance(value, bytes | bytearray):
        name, data = default_name, bytes(value)
    elif isinstance(value, str | Path):
        path = Path(value)
        name, data = path.name, path.read_bytes()
    else:
        name = Path(str(getattr(value, "name", default_name))).name
        data = value.read()
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, data, kind
