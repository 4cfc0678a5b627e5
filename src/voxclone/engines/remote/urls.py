"""Which addresses a remote engine may call.

Engine URLs come from the operator's configuration, but a gateway that can be told to call any
address can be turned against its own network (the metadata service of a cloud VM, a database on
localhost). So loopback and private addresses are refused unless settings allow them, and the
cloud metadata addresses are refused always. A host name is checked against every address it
resolves to; names are resolved when the engine first uses the URL.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class UrlRefused(ValueError):
    """The URL may not be called under the current settings (the message says which one)."""


class UrlUnresolved(OSError):
    """The URL's host name does not resolve (yet): worth trying again later."""


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    allow_loopback: bool = False
    allow_private: bool = False


def normalize_base_url(url: str) -> str:
    """``url`` without a trailing slash, checked to be an absolute http(s) URL with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(f"engine URL {url!r} must start with http:// or https://")
    if not parts.hostname:
        raise UrlRefused(f"engine URL {url!r} has no host")
    if parts.query or parts.fragment:
        raise UrlRefused(f"engine URL {url!r} must not have a query or fragment")
    return url.strip().rstrip("/")


def redact(url: str) -> str:
    """The URL without user name and password, for logs and listings."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()


def classify(address: IPAddress) -> str | None:
    """``"loopback"``, ``"private"``, ``"metadata"`` or None for an ordinary public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "metadata"
    if address.is_loopback:
        return "loopback"
    if (
        address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
        or address.is_multicast
        or (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT)
    ):
        return "private"
    return None


def check_address(url: str, address: IPAddress, policy: UrlPolicy) -> None:
    kind = classify(address)
    if kind is None:
        return
    if kind == "metadata":
        raise UrlRefused(
            f"engine URL {redact(url)!r} points at {address}, a cloud metadata address; "
            "it is never called"
        )
    if kind == "loopback" and not policy.allow_loopback:
        raise UrlRefused(
            f"engine URL {redact(url)!r} points at {address}, a loopback address; set "
            "VOXCLONE_REMOTE__ALLOW_LOOPBACK_URLS=true to allow it"
        )
    if kind == "private" and not policy.allow_private:
        raise UrlRefused(
            f"engine URL {redact(url)!r} points at {address}, a private or link-local address; "
            "set VOXCLONE_REMOTE__ALLOW_PRIVATE_URLS=true to allow it"
        )


def literal_address(url: str) -> IPAddress | None:
    """The address of a URL whose host is an IP literal (or ``localhost``); None for names."""
    host = urlsplit(url).hostname or ""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return ipaddress.ip_address("127.0.0.1")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (getaddrinfo)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def check_url(
    url: str, policy: UrlPolicy, *, resolve: bool = True, resolver: Resolver = system_resolver
) -> None:
    """Raise UrlRefused if ``url`` may not be called; UrlUnresolved if its name does not resolve.

    With ``resolve`` False, only IP literals are checked (host names pass).
    """
    literal = literal_address(url)
    if literal is not None:
        check_address(url, literal, policy)
        return
    if not resolve:
        return
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolver(parts.hostname or "", port)
    except OSError as exc:
        raise UrlUnresolved(f"cannot resolve the host of {redact(url)!r}: {exc}") from exc
    if not addresses:
        raise UrlUnresolved(f"the host of {redact(url)!r} resolves to no address")
    for address in addresses:
        check_address(url, ipaddress.ip_address(address), policy)
