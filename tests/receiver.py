"""A real HTTP peer for webhook and URL-fetch tests: a Starlette app served on loopback by
``tests.remote.servers.ThreadServer``.

- ``POST /hook``: records each request; answers 500 to the first ``fail_first``, then 200
  (``fail_first=-1``: always 500).
- ``GET /files/{name}``: bytes put in ``files``; ``GET /redirect?to=URL``: a 302 to ``to``;
  ``GET /chain/{n}``: ``n`` redirects in a row, then ``/files/ref.wav``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tests.remote.servers import ThreadServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    fail_first: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            with self._lock:
                self.received.append(Received(dict(request.headers), body))
                count = len(self.received)
                failing = self.fail_first < 0 or count <= self.fail_first
            return Response("no" if failing else "ok", status_code=500 if failing else 200)

        async def files(request: Request) -> Response:
            data = self.files.get(request.path_params["name"])
            if data is None:
                return Response(status_code=404)
            return Response(data, media_type="application/octet-stream")

        async def redirect(request: Request) -> Response:
            return RedirectResponse(request.query_params["to"], status_code=302)

        async def chain(request: Request) -> Response:
            n = int(request.path_params["n"])
            target = f"/chain/{n - 1}" if n > 1 else "/files/ref.wav"
            return RedirectResponse(target, status_code=302)

        return Starlette(
            routes=[
                Route("/hook", hook, methods=["POST"]),
                Route("/files/{name}", files),
                Route("/redirect", redirect),
                Route("/chain/{n:int}", chain),
            ]
        )

    def serve(self) -> ThreadServer:
        return ThreadServer(self.app())

    def accept_all(self) -> None:
        with self._lock:
            self.fail_first = len(self.received)

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)
