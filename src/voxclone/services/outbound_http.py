"""HTTP to URLs that users give (``callback_url``, ``reference_audio_url``), guarded against SSRF.

A user-supplied URL must not turn the server against its own network: loopback, private,
link-local, reserved, multicast and unspecified addresses are refused unless
``webhooks.allow_private_urls`` is set; cloud metadata addresses are refused always. The
address classes are those of remote engine URLs (``engines.remote.urls.classify``).

Checking a name and then letting the HTTP client resolve it again would let DNS rebinding
through (the second answer may be private). So ``GuardedBackend`` is the network layer of the
client: every TCP connection resolves the host once, checks every address, and connects to the
checked one; TLS still uses the original host name (SNI and certificate), and the Host header
is the URL's. ``check_url`` does the same check up front, to refuse a request with a 422.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from voxclone.core.errors import UrlNotAllowed
from voxclone.engines.remote.urls import (
    IPAddress,
    Resolver,
    classify,
    literal_address,
    redact,
    system_resolver,
)


@dataclass(frozen=True, slots=True)
class UrlGuard:
    """Which addresses user-supplied URLs may reach, and how host names are resolved."""

    allow_private: bool = False
    resolver: Resolver = system_resolver

    def check_syntax(self, url: str, *, field: str) -> str:
        """``url`` stripped, if it is an absolute http(s) URL with a host and no credentials."""
        url = url.strip()
        try:
            parts = urlsplit(url)
            _ = parts.port  # a port that is not a number raises here
        except ValueError as exc:
            raise _refused(url, field, f"it is not a valid URL ({exc})") from exc
        if parts.scheme not in ("http", "https"):
            raise _refused(url, field, "only http:// and https:// URLs are allowed")
        if not parts.hostname:
            raise _refused(url, field, "it has no host")
        if parts.username is not None or parts.password is not None:
            raise _refused(url, field, "it must not carry a user name or password")
        return url

    def check_address(self, url: str, address: IPAddress, *, field: str) -> None:
        kind = classify(address)
        if kind is None:
            return
        if kind == "metadata":
            raise _refused(url, field, f"it points at {address}, a cloud metadata address")
        if not self.allow_private:
            raise _refused(
                url,
                field,
                f"it points at {address}, a {kind} address (allowed only with "
                "VOXCLONE_WEBHOOKS__ALLOW_PRIVATE_URLS=true)",
            )

    async def resolve(self, host: str, port: int, *, url: str, field: str) -> list[IPAddress]:
        """Every address of ``host``, each checked; UrlNotAllowed if any may not be reached."""
        literal = literal_address(f"http://{_bracket(host)}")
        if literal is not None:
            addresses = [literal]
        else:
            try:
                found = await asyncio.to_thread(self.resolver, host, port)
            except OSError as exc:
                raise _refused(url, field, f"its host does not resolve ({exc})") from exc
            if not found:
                raise _refused(url, field, "its host resolves to no address")
            addresses = [ipaddress.ip_address(a) for a in found]
        for address in addresses:
            self.check_address(url, address, field=field)
        return addresses

    async def check_url(self, url: str, *, field: str) -> str:
        """``url`` stripped, if it may be called now; UrlNotAllowed (422) naming ``field``."""
        url = self.check_syntax(url, field=field)
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await self.resolve(parts.hostname or "", port, url=url, field=field)
        return url

    def client(self, *, timeout_s: float, field: str) -> httpx.AsyncClient:
        """A client whose every connection goes only to checked addresses; no redirects, no
        proxies from the environment, no connections kept alive (each request re-checks)."""
        transport = httpx.AsyncHTTPTransport(trust_env=False, limits=_NO_KEEPALIVE)
        # httpx takes no network backend; its pool is httpcore's, which does.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_keepalive_connections=0,
            network_backend=GuardedBackend(self, field=field),
        )
        return httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
        )


_NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves each connection's host once, checks it, and connects to the checked address."""

    def __init__(self, guard: UrlGuard, *, field: str) -> None:
        self._guard = guard
        self._field = field
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        url = f"//{_bracket(host)}:{port}"
        addresses = await self._guard.resolve(host, port, url=url, field=self._field)
        return await self._inner.connect_tcp(
            str(addresses[0]),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UrlNotAllowed("unix sockets are never used for user-supplied URLs")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _refused(url: str, field: str, reason: str) -> UrlNotAllowed:
    try:
        shown = redact(url)
    except ValueError:
        shown = "(unparsable)"
    return UrlNotAllowed(f"{field} {shown!r} is not allowed: {reason}", field=field, reason=reason)
