"""Engine URLs on loopback, private, link-local or metadata addresses are refused unless the
settings allow them; nothing is sent to a refused address."""

from __future__ import annotations

import pytest

from tests.conftest import tone_wav
from tests.remote.conftest import engine_entry

OPTIONS = {"languages": ["en"], "sample_rate": 16000}


@pytest.mark.parametrize(
    ("url", "allow", "setting"),
    [
        ("http://127.0.0.1:9", {}, "ALLOW_LOOPBACK_URLS"),
        ("http://localhost:9", {}, "ALLOW_LOOPBACK_URLS"),
        ("http://[::1]:9", {}, "ALLOW_LOOPBACK_URLS"),
        ("http://10.20.30.40:9000", {"allow_loopback_urls": True}, "ALLOW_PRIVATE_URLS"),
        ("http://192.168.1.100:8000", {}, "ALLOW_PRIVATE_URLS"),
        ("http://169.254.10.10", {}, "ALLOW_PRIVATE_URLS"),
        ("http://169.254.169.254", {"allow_private_urls": True}, "metadata"),
    ],
)
async def test_refused_addresses(gateway, provider, url, allow, setting) -> None:
    policy = {"allow_loopback_urls": False, **allow}
    gw = await gateway(
        engine_entry("locked", "provider", urls=[url], options=OPTIONS, **policy)
        + engine_entry(
            "lockedfb", "provider", urls=[url], fallback="fake", options=OPTIONS, **policy
        )
    )
    r = await gw.client.post(
        "/v1/voices",
        data={"name": "v", "backend": "locked"},
        files={"ref_audio": ("ref.wav", tone_wav())},
        headers=gw.user,
    )
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "engine_unavailable"
    assert setting in r.json()["message"]
    listed = await gw.engines()
    assert listed["locked"]["available"] is False
    assert setting in listed["locked"]["detail"]

    voice = await gw.voice("fake")  # a fallback steps in for an engine that cannot load
    r = await gw.say(voice, "Hello.", model_id="lockedfb")
    assert r.status_code == 200 and r.headers["X-Backend"] == "fake", r.text


async def test_loopback_is_used_once_allowed(gateway, provider) -> None:
    p = provider()
    gw = await gateway(
        engine_entry("open", "provider", urls=[p.url], allow_loopback_urls=True, options=OPTIONS)
    )
    voice = await gw.voice("open")
    assert (await gw.say(voice, "Hello.")).status_code == 200
    assert p.engine.synthesis_calls == 1


async def test_remote_settings_allow_loopback_for_every_engine(gateway, provider) -> None:
    from voxclone.config import RemoteSettings

    p = provider()
    entry = engine_entry("open", "provider", urls=[p.url], options=OPTIONS)
    entry = entry.replace("allow_loopback_urls = true\n", "")
    refused = await gateway(entry)
    assert (await refused.engines())["open"]["available"] is False
    allowed = await gateway(entry, remote=RemoteSettings(allow_loopback_urls=True))
    assert (await allowed.engines())["open"]["available"] is True
