"""The ElevenLabs-compatible API's plumbing with the fake engine, on both databases: its error
shape and codes, key isolation, the quota, stored voice settings, and that voxclone's own routes
of the same paths are untouched. tests/e2e/test_elevenlabs_sdk.py runs the real SDK and engines."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.conftest import tone_wav

EL = "/elevenlabs"


def xi(headers: dict[str, str]) -> dict[str, str]:
    """The same key as ElevenLabs clients send it."""
    return {"xi-api-key": headers["Authorization"].removeprefix("Bearer ")}


async def test_errors_have_elevenlabs_shape(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    r = await client.get(f"{EL}/v1/voices", headers={"xi-api-key": "vx_wrong"})
    assert r.status_code == 401 and r.json()["detail"]["status"] == "invalid_api_key"
    r = await client.post(f"{EL}/v1/text-to-speech/nobody", json={"text": "Hi."}, headers=xi(user))
    assert r.status_code == 404
    assert r.json()["detail"]["status"] == "voice_not_found"
    assert "nobody" in r.json()["detail"]["message"]
    r = await client.post(
        f"{EL}/v1/text-to-speech/{voice_id}?output_format=flac_44100",
        json={"text": "Hi."},
        headers=xi(user),
    )
    assert r.status_code == 422 and "flac_44100" in r.json()["detail"]["message"]
    r = await client.post(f"{EL}/v1/text-to-speech/{voice_id}", json={}, headers=xi(user))
    assert r.status_code == 422 and r.json()["detail"]["status"] == "invalid_request"
    r = await client.get(f"{EL}/v1/no-such-thing", headers=xi(user))
    assert r.status_code == 404 and set(r.json()["detail"]) == {"status", "message"}


async def test_voxclones_own_paths_keep_their_shapes(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    own = await client.get("/v1/voices", headers=xi(user))
    assert isinstance(own.json(), list) and own.json()[0]["voice_id"] == voice_id
    missing = await client.get(f"/v1/voices/{'0' * 8}-0000-4000-8000-{'0' * 12}", headers=user)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    listed = await client.get(f"{EL}/v1/voices", headers=xi(user))
    assert listed.json()["voices"][0]["voice_id"] == voice_id


async def test_another_keys_voice_and_history_are_not_found(
    client: httpx.AsyncClient,
    user: dict[str, str],
    voice_id: str,
    new_key,  # type: ignore[no-untyped-def]
) -> None:
    r = await client.post(
        f"{EL}/v1/text-to-speech/{voice_id}?output_format=pcm_16000",
        json={"text": "Mine."},
        headers=xi(user),
    )
    assert r.status_code == 200 and len(r.content) % 2 == 0
    [item] = (await client.get(f"{EL}/v1/history", headers=xi(user))).json()["history"]
    other = await new_key("bob")
    other.pop("_key_id")
    r = await client.get(f"{EL}/v1/voices/{voice_id}", headers=xi(other))
    assert r.status_code == 404
    r = await client.get(f"{EL}/v1/history/{item['history_item_id']}", headers=xi(other))
    assert r.status_code == 404
    r = await client.delete(f"{EL}/v1/voices/{voice_id}", headers=xi(other))
    assert r.status_code == 404


async def test_a_spent_quota_is_402_quota_exceeded(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/v1/keys", json={"label": "small", "monthly_char_quota": 10}, headers=admin_headers
    )
    headers = {"xi-api-key": r.json()["api_key"]}
    r = await client.post(
        f"{EL}/v1/voices/add",
        data={"name": "v"},
        files={"files": ("a.wav", tone_wav(), "audio/wav")},
        headers=headers,
    )
    voice = r.json()["voice_id"]
    ok = await client.post(
        f"{EL}/v1/text-to-speech/{voice}", json={"text": "Ten chars."}, headers=headers
    )
    assert ok.status_code == 200
    r = await client.post(
        f"{EL}/v1/text-to-speech/{voice}", json={"text": "More."}, headers=headers
    )
    assert r.status_code == 402 and r.json()["detail"]["status"] == "quota_exceeded"
    subscription = (await client.get(f"{EL}/v1/user/subscription", headers=headers)).json()
    assert (subscription["character_count"], subscription["character_limit"]) == (10, 10)


async def test_stored_settings_are_kept_and_bad_ones_refused(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    url = f"{EL}/v1/voices/{voice_id}/settings"
    r = await client.post(f"{url}/edit", json={"stability": 1.0, "style": 0.3}, headers=xi(user))
    assert r.json() == {"status": "ok"}
    got = (await client.get(url, headers=xi(user))).json()
    assert (got["stability"], got["style"], got["speed"]) == (1.0, 0.3, 1.0)
    r = await client.post(f"{url}/edit", json={"stability": 2}, headers=xi(user))
    assert r.status_code == 422 and "stability" in r.json()["detail"]["message"]
    voice = (await client.get(f"{EL}/v1/voices/{voice_id}", headers=xi(user))).json()
    assert voice["settings"]["stability"] == 1.0


async def test_access_log_names_the_prefixed_route(
    client: httpx.AsyncClient, user: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="voxclone.access"):
        await client.get(f"{EL}/v1/voices/nobody", headers=xi(user))
        await client.get("/v1/voices", headers=user)
    lines = [r.getMessage() for r in caplog.records if r.name == "voxclone.access"]
    assert any("GET /elevenlabs/v1/voices/{voice_id} 404" in line for line in lines), lines
    assert any("GET /v1/voices 200" in line for line in lines), lines


async def test_a_clone_with_a_bad_second_file_adds_no_voice(
    client: httpx.AsyncClient, user: dict[str, str]
) -> None:
    r = await client.post(
        f"{EL}/v1/voices/add",
        data={"name": "half"},
        files=[("files", ("a.wav", tone_wav(), "audio/wav")), ("files", ("b.wav", b"junk", "x"))],
        headers=xi(user),
    )
    assert r.status_code == 422 and r.json()["detail"]["status"] == "invalid_audio"
    listed = (await client.get(f"{EL}/v1/voices", headers=xi(user))).json()["voices"]
    assert "half" not in {v["name"] for v in listed}
