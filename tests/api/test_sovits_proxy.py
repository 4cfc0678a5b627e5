"""POST /api/v1/voice/synthesize: the GPT-SoVITS proxy document's one-shot endpoint."""

from __future__ import annotations

import io

import pytest
import soundfile as sf

from tests.conftest import tone_wav

PATH = "/api/v1/voice/synthesize"


async def post(client, headers, *, text="Hello world.", audio=None, **fields):
    files = (
        {} if audio is False else {"reference_audio": ("ref.wav", audio or tone_wav(), "audio/wav")}
    )
    return await client.post(
        PATH, data={"text": text, **fields}, files=files or None, headers=headers
    )


def x_api_key(user: dict[str, str]) -> dict[str, str]:
    return {"X-API-Key": user["Authorization"].removeprefix("Bearer ")}


async def test_one_shot_returns_wav_with_duration(client, user) -> None:
    r = await post(client, x_api_key(user), language="en", speed="1.0", temperature="0.7")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    assert r.headers["content-disposition"] == 'attachment; filename="synthesized.wav"'
    samples, rate = sf.read(io.BytesIO(r.content))
    assert float(r.headers["X-Audio-Duration"]) == pytest.approx(len(samples) / rate, abs=0.01)


async def test_auth_is_401(client) -> None:
    assert (await post(client, {})).status_code == 401
    assert (await post(client, {"X-API-Key": "wrong"})).status_code == 401


@pytest.mark.parametrize(
    "case",
    [
        "empty text",
        "long text",
        "no file",
        "not audio",
        "too large",
        "bad language",
        "bad speed",
        "bad temperature",
        "speed not a number",
    ],
)
async def test_invalid_input_is_400(client, user, case) -> None:
    h = x_api_key(user)
    r = {
        "empty text": lambda: post(client, h, text=""),
        "long text": lambda: post(client, h, text="a" * 5001),
        "no file": lambda: post(client, h, audio=False),
        "not audio": lambda: post(client, h, audio=b"plain text" * 100),
        "too large": lambda: post(client, h, audio=b"\0" * (11 * 1024 * 1024)),
        "bad language": lambda: post(client, h, language="ko"),
        "bad speed": lambda: post(client, h, speed="2.5"),
        "bad temperature": lambda: post(client, h, temperature="0"),
        "speed not a number": lambda: post(client, h, speed="fast"),
    }[case]
    response = await r()
    assert response.status_code == 400, (case, response.text)
    assert response.json()["error"]


async def test_voice_health_needs_a_key(client, user) -> None:
    assert (await client.get("/api/v1/voice/health")).status_code == 401
    r = await client.get("/api/v1/voice/health", headers=x_api_key(user))
    assert r.status_code == 200 and r.json()["available"] is True
