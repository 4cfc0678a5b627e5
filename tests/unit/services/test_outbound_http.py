"""The SSRF guard of user-supplied URLs: which URLs pass, and connections pinned to the
address that was checked (real requests to a server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.receiver import Receiver

from voxclone.core.errors import UrlNotAllowed
from voxclone.engines.remote.urls import Resolver
from voxclone.services.outbound_http import UrlGuard


def resolver_of(table: dict[str, list[str]]) -> Resolver:
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


PUBLIC = resolver_of({"hooks.example.com": ["93.184.216.34"]})


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/x", "only http"),
        ("file:///etc/passwd", "only http"),
        ("https://user:pw@hooks.example.com/x", "user name or password"),
        ("http:///x", "no host"),
        ("http://hooks.example.com:99999/x", "not a valid URL"),
    ],
)
async def test_malformed_or_unsafe_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UrlNotAllowed, match=reason) as caught:
        await UrlGuard(resolver=PUBLIC).check_url(url, field="callback_url")
    assert caught.value.details["field"] == "callback_url"
    assert "pw" not in caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://100.64.0.1/hook",
    ],
)
async def test_private_loopback_and_reserved_addresses_are_refused(url: str) -> None:
    with pytest.raises(UrlNotAllowed, match="ALLOW_PRIVATE_URLS"):
        await UrlGuard().check_url(url, field="callback_url")
    assert await UrlGuard(allow_private=True).check_url(url, field="callback_url") == url


async def test_the_metadata_address_is_refused_even_when_private_urls_are_allowed() -> None:
    with pytest.raises(UrlNotAllowed, match="metadata"):
        await UrlGuard(allow_private=True).check_url("http://169.254.169.254/", field="f")


async def test_a_name_that_resolves_to_a_private_address_is_refused() -> None:
    guard = UrlGuard(resolver=resolver_of({"intranet.example.com": ["93.184.216.34", "10.0.0.5"]}))
    with pytest.raises(UrlNotAllowed, match=r"10\.0\.0\.5"):
        await guard.check_url("https://intranet.example.com/hook", field="callback_url")


async def test_a_public_name_passes_and_an_unknown_name_is_refused() -> None:
    guard = UrlGuard(resolver=PUBLIC)
    url = "https://hooks.example.com/hook"
    assert await guard.check_url(f" {url} ", field="callback_url") == url
    with pytest.raises(UrlNotAllowed, match="does not resolve"):
        await guard.check_url("https://nowhere.example.com/", field="callback_url")


@pytest.fixture
def server() -> Iterator[tuple[Receiver, int]]:
    receiver = Receiver(files={"hello": b"hello"})
    with receiver.serve() as url:
        yield receiver, int(url.rsplit(":", 1)[1])


async def test_connections_go_to_the_checked_address_with_the_original_host(
    server: tuple[Receiver, int],
) -> None:
    receiver, port = server
    guard = UrlGuard(allow_private=True, resolver=resolver_of({"hooks.test": ["127.0.0.1"]}))
    async with guard.client(timeout_s=5, field="callback_url") as client:
        r = await client.post(f"http://hooks.test:{port}/hook", content=b"{}")
    assert r.status_code == 200
    assert receiver.snapshot()[0].headers["host"] == f"hooks.test:{port}"


async def test_dns_rebinding_is_refused_at_connect_time(server: tuple[Receiver, int]) -> None:
    """The name passes the up-front check with a public answer, then resolves to loopback
    when the connection is made: the connection is refused, not made."""
    _, port = server
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    guard = UrlGuard(resolver=rebinding)
    url = f"http://rebind.test:{port}/files/hello"
    await guard.check_url(url, field="reference_audio_url")
    async with guard.client(timeout_s=5, field="reference_audio_url") as client:
        with pytest.raises(UrlNotAllowed, match=r"127\.0\.0\.1"):
            await client.get(url)


async def test_redirects_are_not_followed(server: tuple[Receiver, int]) -> None:
    _, port = server
    async with UrlGuard(allow_private=True).client(timeout_s=5, field="f") as client:
        r = await client.get(f"http://127.0.0.1:{port}/redirect?to=/files/hello")
    assert r.status_code == 302
