import ipaddress

import pytest

from voxclone.engines.remote.urls import (
    UrlPolicy,
    UrlRefused,
    UrlUnresolved,
    check_url,
    classify,
    normalize_base_url,
    redact,
)

STRICT = UrlPolicy()
OPEN = UrlPolicy(allow_loopback=True, allow_private=True)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.100", "private"),
        ("100.64.0.1", "private"),
        ("169.254.1.1", "private"),
        ("fe80::1", "private"),
        ("fd12:3456::1", "private"),
        ("0.0.0.0", "private"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_classify(address: str, kind: str | None) -> None:
    assert classify(ipaddress.ip_address(address)) == kind


def test_policy_decides_loopback_and_private_but_never_metadata() -> None:
    with pytest.raises(UrlRefused, match="ALLOW_LOOPBACK_URLS"):
        check_url("http://127.0.0.1:8000", STRICT)
    with pytest.raises(UrlRefused, match="ALLOW_LOOPBACK_URLS"):
        check_url("http://LOCALHOST:8000", STRICT)
    with pytest.raises(UrlRefused, match="ALLOW_PRIVATE_URLS"):
        check_url("http://10.1.1.1", UrlPolicy(allow_loopback=True))
    check_url("http://127.0.0.1:8000", OPEN)
    check_url("http://10.1.1.1", OPEN)
    with pytest.raises(UrlRefused, match="metadata"):
        check_url("http://169.254.169.254/latest", OPEN)


def test_host_names_are_checked_against_every_address() -> None:
    def resolver(host: str, port: int) -> list[str]:
        assert (host, port) == ("gpu.example", 443)
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(UrlRefused, match=r"10\.0\.0\.7"):
        check_url("https://gpu.example", STRICT, resolver=resolver)
    check_url("https://gpu.example", UrlPolicy(allow_private=True), resolver=resolver)
    check_url("https://gpu.example", STRICT, resolve=False)  # names pass without resolving


def test_unresolvable_names_are_worth_another_try() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UrlUnresolved, match="not known"):
        check_url("http://nowhere.invalid:9000", STRICT, resolver=resolver)


@pytest.mark.parametrize(
    "url", ["ftp://host", "http://", "http://host/?q=1", "http://host/#frag", "host:80"]
)
def test_malformed_urls(url: str) -> None:
    with pytest.raises(UrlRefused):
        normalize_base_url(url)


def test_normalize_and_redact() -> None:
    assert normalize_base_url(" http://host:8000/base/ ") == "http://host:8000/base"
    assert redact("https://user:pw@host:8443/v1") == "https://host:8443/v1"
    assert redact("http://[::1]:9") == "http://[::1]:9"
    assert redact("http://u:p@[::1]:9/x") == "http://[::1]:9/x"
