"""A request's work is bounded: a text that would make more audio than one request may is
refused up front with 422 output_too_long (every way in), and one that makes more anyway (the
estimate is only an estimate) is stopped while it is synthesized."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY, fake_registry, make_settings, tone_wav
from voxclone.api.app import create_app
from voxclone.services.container import build_services


@pytest.fixture
async def bounded(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The fake engine makes 0.05 s of audio per character; at most 3 s per request."""
    limits = {"max_output_audio_s": 3.0, "estimate_chars_per_s": 40.0}
    settings = make_settings(tmp_path / "data", database_url=database_url, limits=limits)
    app = create_app(services=build_services(settings, engines=fake_registry()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def user_and_voice(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    r = await client.post("/v1/keys", json={"label": "b"}, headers={"X-API-Key": ADMIN_KEY})
    user = {"Authorization": f"Bearer {r.json()['api_key']}"}
    r = await client.post(
        "/v1/voices",
        data={"name": "v", "backend": "fake", "ref_text": "a tone"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    return user, str(r.json()["voice_id"])


async def test_too_much_audio_for_the_speed_is_refused_up_front_everywhere(
    bounded: httpx.AsyncClient,
) -> None:
    user, voice = await user_and_voice(bounded)
    text = "word " * 40  # 200 characters: 5 s at speed 1 by the estimate, 20 s at 0.25
    calls = [
        ("/v1/synthesize", {"voice_id": voice, "text": text, "speed": 0.25}),
        (f"/v1/text-to-speech/{voice}", {"text": text, "voice_settings": {"speed": 0.25}}),
        (f"/v1/text-to-speech/{voice}/stream", {"text": text, "voice_settings": {"speed": 0.25}}),
        ("/v1/audio/speech", {"model": "tts-1", "voice": voice, "input": text, "speed": 0.25}),
    ]
    for path, body in calls:
        r = await bounded.post(path, json=body, headers=user)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"] == "output_too_long", path
        assert r.json()["details"]["limit_s"] == 3.0
        assert "split the text or raise the speed" in r.json()["message"]
    usage = (await bounded.get("/v1/usage", headers=user)).json()
    assert usage["totals"]["characters"] == 0  # nothing was counted


async def test_audio_past_the_limit_is_stopped_while_it_is_made(
    bounded: httpx.AsyncClient,
) -> None:
    """The estimate lets 100 characters through (2.5 s), the fake engine makes 5 s of them."""
    user, voice = await user_and_voice(bounded)
    text = "Short one. " + "x" * 40 + ". " + "y" * 40 + "."
    r = await bounded.post(f"/v1/text-to-speech/{voice}", json={"text": text}, headers=user)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "output_too_long"
    ok = await bounded.post(f"/v1/text-to-speech/{voice}", json={"text": "Fine."}, headers=user)
    assert ok.status_code == 200
