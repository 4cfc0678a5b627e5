"""Real HTTP peers on loopback for the remote-engine tests.

- ``ThreadServer``: any ASGI app under uvicorn in a background thread, on a free port.
- ``ProviderProcess``: ``voxclone provider serve`` as a real subprocess (so it can be killed).
- ``Dropper``: a TCP server that reads a request and hangs up without answering.
"""

from __future__ import annotations

import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

REPO = Path(__file__).resolve().parents[2]


def _bound_socket() -> socket.socket:
    # IPPROTO_TCP, as uvicorn's own sockets have: asyncio sets TCP_NODELAY only on sockets whose
    # proto says TCP, and without it every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadServer:
    """``with ThreadServer(app) as url:`` serves ``app`` on ``url`` until the block ends;
    WebSockets only with ``ws="websockets-sansio"``."""

    def __init__(self, app: Any, *, ws: str = "none", tls: tuple[Path, Path] | None = None) -> None:
        """``tls``: (certificate, key) PEM files to serve HTTPS (and wss) instead."""
        self._sock = _bound_socket()
        self.port = int(self._sock.getsockname()[1])
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            ssl_certfile=str(tls[0]) if tls else None,
            ssl_keyfile=str(tls[1]) if tls else None,
            log_level="warning",
            access_log=False,
            ws=ws,
            http="h11",
            loop="asyncio",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        """Stop serving (idempotent); the port then refuses connections."""
        if self._server.should_exit:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ProviderProcess:
    """``voxclone provider serve --engine NAME`` in a subprocess on a free port (several
    ``--engine`` options when ``engine`` is a list; more options in ``args``)."""

    def __init__(
        self,
        engine: str | list[str],
        engines_file: Path,
        *,
        cwd: Path,
        args: tuple[str, ...] = (),
        **env: str,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        names = [engine] if isinstance(engine, str) else engine
        self._args = [
            sys.executable,
            "-m",
            "voxclone",
            "provider",
            "serve",
            *[arg for name in names for arg in ("--engine", name)],
            "--port",
            str(self.port),
            *args,
        ]
        self._env = {
            **os.environ,
            "VOXCLONE_ENGINES_FILE": str(engines_file),
            "VOXCLONE_LOG_LEVEL": "warning",
            "PYTHONPATH": str(REPO / "src"),
            **env,
        }
        self._cwd = cwd
        self._log = cwd / f"provider-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ProviderProcess:
        with self._log.open("ab") as log:
            self.process = subprocess.Popen(
                self._args, env=self._env, cwd=self._cwd, stdout=log, stderr=log
            )
        return self

    def wait_ready(self, timeout_s: float = 60) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self._log.read_text(errors="replace")
                raise RuntimeError(f"provider exited with {self.process.returncode}: {err}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the provider server did not start")

    def kill(self) -> None:
        """SIGKILL: no goodbye, the way a crashed GPU box disappears."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class _HangUp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        self.server.hits += 1  # type: ignore[attr-defined]
        sock.close()


class Dropper:
    """Accepts connections, reads the request head, and closes the socket without a reply."""

    def __init__(self) -> None:
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _HangUp)
        self._server.daemon_threads = True
        self._server.hits = 0  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def hits(self) -> int:
        return int(self._server.hits)  # type: ignore[attr-defined]

    def __enter__(self) -> Dropper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
