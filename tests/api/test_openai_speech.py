"""OpenAI's POST /v1/audio/speech and GET /v1/models, plumbing with the fake engines (on both
databases); tests/e2e/test_openai_speech_sdk.py runs the real Piper engine behind the SDK."""

from __future__ import annotations

import base64
import io
import json

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf

from tests.conftest import ADMIN_KEY, tone_wav
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.audio import concat_with_crossfade, decode_audio
from voxclone.core.types import Audio
from voxclone.engines.base import SynthesisParams
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.engines.remote.openai import OpenAISpeechEngine
from voxclone.services.container import build_services

TEXT = "Hello from the OpenAI endpoint."
OTHER_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def registry() -> EngineRegistry:
    return EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
            EngineSpec(
                "fake24", "voxclone.engines.fake:FakeEngine", options={"sample_rate": 24000}
            ),
            EngineSpec("whisper", "voxclone.engines.fake_stt:FakeTranscriber", kind="stt"),
            EngineSpec("hush", "voxclone.engines.fake:FakeEngine", kind="denoise"),
        ]
    )


async def add_voice(client: httpx.AsyncClient, user: dict[str, str], name: str, hz: float) -> str:
    r = await client.post(
        "/v1/voices",
        data={"name": name, "ref_text": "hello there"},
        files={"ref_audio": ("ref.wav", tone_wav(hz=hz), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["voice_id"])


async def speech(client: httpx.AsyncClient, user: dict[str, str], **body: object) -> httpx.Response:
    return await client.post("/v1/audio/speech", json={"model": "tts-1", **body}, headers=user)


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    body: dict[str, object] = r.json()
    assert body["error"] == code and set(body) == {"error", "message", "details"}, body
    return body


# --- voices and models ----------------------------------------------------------------------------


async def test_voice_by_id_is_mp3_by_default_with_the_audio_headers(client, user, voice_id) -> None:
    r = await speech(client, user, voice=voice_id, input=TEXT)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/mpeg"
    assert r.headers["X-Voice-Id"] == voice_id
    assert r.headers["X-Backend"] == "fake"
    assert r.headers["X-Cache"] == "MISS"
    assert int(r.headers["X-Synthesis-Time-Ms"]) >= 0
    duration = float(r.headers["X-Audio-Duration"])
    assert duration == pytest.approx(0.05 * len(TEXT), abs=0.05)  # the fake engine's length
    decoded = decode_audio(r.content).audio
    assert decoded.duration_s == pytest.approx(duration, abs=0.1)  # mp3 pads a frame or two
    again = await speech(client, user, voice=voice_id, input=TEXT)
    assert again.headers["X-Cache"] == "HIT" and again.content == r.content


async def test_voice_by_name_and_as_an_object(client, user, voice_id) -> None:
    for voice in ("alice-voice", {"id": voice_id}, {"id": "alice-voice"}, " alice-voice "):
        r = await speech(client, user, voice=voice, input=TEXT, response_format="wav")
        assert r.status_code == 200, (voice, r.text)
        assert r.headers["X-Voice-Id"] == voice_id


async def test_a_name_shared_by_several_voices_means_the_newest(client, user) -> None:
    await add_voice(client, user, "twin", hz=150)
    newest = await add_voice(client, user, "twin", hz=300)
    r = await speech(client, user, voice="twin", input=TEXT, response_format="wav")
    assert r.status_code == 200, r.text
    assert r.headers["X-Voice-Id"] == newest


async def test_a_voice_named_like_an_id_of_nothing_is_found_by_name(client, user) -> None:
    named = await add_voice(client, user, OTHER_ID, hz=200)
    r = await speech(client, user, voice=OTHER_ID, input=TEXT, response_format="wav")
    assert r.status_code == 200, r.text
    assert r.headers["X-Voice-Id"] == named


@pytest.mark.parametrize("model", ["tts-1", "tts-1-hd", "gpt-4o-mini-tts", "fake"])
async def test_openai_models_mean_the_voices_backend(client, user, voice_id, model) -> None:
    r = await speech(client, user, model=model, voice=voice_id, input=TEXT, response_format="wav")
    assert r.status_code == 200, r.text
    assert r.headers["X-Backend"] == "fake"
    assert sf.info(io.BytesIO(r.content)).samplerate == 16000


async def test_a_backend_name_as_model_selects_that_backend(client, user, voice_id) -> None:
    r = await speech(
        client, user, model="fake24", voice=voice_id, input=TEXT, response_format="wav"
    )
    assert r.status_code == 200, r.text
    assert r.headers["X-Backend"] == "fake24"
    assert sf.info(io.BytesIO(r.content)).samplerate == 24000


@pytest.mark.parametrize("model", ["nope", "whisper", "hush", "whisper-1"])
async def test_unknown_model_is_refused_with_the_known_ones(client, user, voice_id, model) -> None:
    r = await speech(client, user, model=model, voice=voice_id, input=TEXT)
    body = assert_error(r, 400, "unknown_model")
    details = body["details"]
    assert isinstance(details, dict)
    assert details["model"] == model
    assert details["known"] == [
        "tts-1",
        "tts-1-hd",
        "gpt-4o-mini-tts",
        "gpt-4o-mini-tts-2025-12-15",
        "fake",
        "fake24",
    ]


# --- formats and speed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response_format", "media", "rate"),
    [
        ("wav", "audio/wav", 16000),
        ("flac", "audio/flac", 16000),
        ("opus", "audio/ogg", 16000),  # Opus in Ogg
        ("mp3", "audio/mpeg", 16000),
    ],
)
async def test_response_formats_decode(
    client, user, voice_id, response_format, media, rate
) -> None:
    r = await speech(client, user, voice=voice_id, input=TEXT, response_format=response_format)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media
    duration = float(r.headers["X-Audio-Duration"])
    if response_format == "mp3":
        decoded = decode_audio(r.content)
        assert decoded.format == "mp3"
        samples, got_rate = decoded.audio.samples, decoded.sample_rate
    else:
        samples, got_rate = sf.read(io.BytesIO(r.content), dtype="float32")
        if response_format == "opus":
            assert sf.info(io.BytesIO(r.content)).subtype == "OPUS"
    assert got_rate == rate
    assert len(samples) / got_rate == pytest.approx(duration, abs=0.1)
    assert float(np.sqrt(np.mean(np.square(samples)))) > 0.05  # a tone, not silence


async def test_pcm_is_raw_s16le_at_24khz(client, user, voice_id) -> None:
    wav = await speech(client, user, voice=voice_id, input=TEXT, response_format="wav")
    wav_samples, wav_rate = sf.read(io.BytesIO(wav.content), dtype="int16")
    r = await speech(client, user, voice=voice_id, input=TEXT, response_format="pcm")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    assert len(r.content) % 2 == 0
    samples = np.frombuffer(r.content, dtype="<i2")
    assert len(r.content) == 2 * len(samples)
    # The fake engine speaks at 16 kHz; OpenAI's pcm is 24 kHz, so it is resampled.
    assert abs(len(samples) - len(wav_samples) * 24000 / wav_rate) <= 2
    assert len(samples) / 24000 == pytest.approx(float(r.headers["X-Audio-Duration"]), abs=0.01)
    assert np.abs(samples).max() > 0.2 * 32768


async def test_pcm_from_a_24khz_engine_is_its_samples(client, user, voice_id) -> None:
    body = {"model": "fake24", "voice": voice_id, "input": TEXT}
    wav = await speech(client, user, **body, response_format="wav")
    pcm = await speech(client, user, **body, response_format="pcm")
    wav_samples, _ = sf.read(io.BytesIO(wav.content), dtype="int16")
    pcm_samples = np.frombuffer(pcm.content, dtype="<i2")
    assert len(pcm.content) == 2 * len(wav_samples)
    assert np.abs(pcm_samples.astype(int) - wav_samples.astype(int)).max() <= 1  # floor vs round


@pytest.mark.parametrize("fmt", ["aac", "ogg", "mp4", ""])
async def test_unsupported_response_format_names_the_supported(client, user, voice_id, fmt) -> None:
    r = await speech(client, user, voice=voice_id, input=TEXT, response_format=fmt)
    body = assert_error(r, 422, "unsupported_format")
    assert body["details"] == {
        "field": "response_format",
        "format": fmt,
        "supported": ["mp3", "opus", "flac", "wav", "pcm"],
    }
    assert "mp3, opus, flac, wav, pcm" in str(body["message"])


async def test_speed_changes_the_duration_within_its_bounds(client, user, voice_id) -> None:
    durations = {}
    for speed in (0.25, 1.0, 4.0):
        r = await speech(
            client, user, voice=voice_id, input=TEXT, response_format="wav", speed=speed
        )
        assert r.status_code == 200, r.text
        durations[speed] = float(r.headers["X-Audio-Duration"])
    assert durations[0.25] == pytest.approx(4 * durations[1.0], rel=0.05)
    assert durations[4.0] == pytest.approx(durations[1.0] / 4, rel=0.05)


@pytest.mark.parametrize("speed", [0.2, 4.01, 0, -1, "fast"])
async def test_speed_out_of_range_is_422_naming_speed(client, user, voice_id, speed) -> None:
    r = await speech(client, user, voice=voice_id, input=TEXT, speed=speed)
    body = assert_error(r, 422, "validation_error")
    details = body["details"]
    assert isinstance(details, dict)
    assert [p["field"] for p in details["problems"]] == ["speed"]
    assert str(body["message"]).startswith("speed:")


async def test_instructions_are_ignored_and_a_streamed_hit_is_the_cached_file(
    client, user, voice_id
) -> None:
    plain = await speech(client, user, voice=voice_id, input=TEXT, response_format="wav")
    r = await speech(
        client,
        user,
        voice=voice_id,
        input=TEXT,
        response_format="wav",
        instructions="Speak like a pirate.",
        stream_format="audio",
        stream=True,
    )
    assert r.status_code == 200, r.text
    assert r.headers["X-Cache"] == "HIT" and r.content == plain.content


async def test_sse_stream_format_sends_openai_events(client, user, voice_id) -> None:
    plain = await speech(client, user, voice=voice_id, input=TEXT, response_format="wav")
    assert plain.status_code == 200, plain.text
    r = await speech(
        client, user, voice=voice_id, input=TEXT, response_format="wav", stream_format="sse"
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["X-Voice-Id"] == voice_id and r.headers["X-Backend"] == "fake"
    blocks = r.text.strip("\n").split("\n\n")
    events = [json.loads(b.removeprefix("data: ")) for b in blocks]
    assert [e["type"] for e in events] == ["speech.audio.delta", "speech.audio.done"]
    assert base64.b64decode(events[0]["audio"]) == plain.content  # the cached file
    assert events[1]["usage"] == {
        "input_tokens": len(TEXT),
        "output_tokens": 0,
        "total_tokens": len(TEXT),
    }


async def test_an_unknown_stream_format_is_refused(client, user, voice_id) -> None:
    r = await speech(client, user, voice=voice_id, input=TEXT, stream_format="websocket")
    body = assert_error(r, 422, "unsupported_format")
    assert "server-sent events" in str(body["message"])
    assert body["details"] == {
        "field": "stream_format",
        "format": "websocket",
        "supported": ["audio", "sse"],
    }


# --- bad requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["model", "input", "voice"])
async def test_a_missing_field_is_named(client, user, voice_id, field) -> None:
    body = {"model": "tts-1", "input": TEXT, "voice": voice_id}
    del body[field]
    r = await client.post("/v1/audio/speech", json=body, headers=user)
    got = assert_error(r, 400, "missing_field")
    assert got["details"] == {"fields": [field]}
    assert field in str(got["message"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("model", ""), ("model", "  "), ("input", ""), ("input", " "), ("voice", "")],
)
async def test_an_empty_field_is_named(client, user, voice_id, field, value) -> None:
    body = {"model": "tts-1", "input": TEXT, "voice": voice_id, field: value}
    r = await client.post("/v1/audio/speech", json=body, headers=user)
    got = assert_error(r, 400, "missing_field")
    assert got["details"] == {"field": field}
    assert str(got["message"]).startswith(f"{field} is required")


async def test_input_limits(client, user, voice_id) -> None:
    ok = await speech(client, user, voice=voice_id, input="a" * 5000, response_format="pcm")
    assert ok.status_code == 200, ok.text
    r = await speech(client, user, voice=voice_id, input="a" * 5001)
    body = assert_error(r, 422, "invalid_text")
    assert body["details"] == {"field": "input", "length": 5001, "max_chars": 5000}


async def test_wrong_types_are_422(client, user, voice_id) -> None:
    r = await speech(client, user, voice=voice_id, input=["not", "text"])
    assert_error(r, 422, "validation_error")
    r = await speech(client, user, voice=42, input=TEXT)
    assert_error(r, 422, "validation_error")


@pytest.mark.parametrize("voice", ["nobody", OTHER_ID, {"id": "nobody"}])
async def test_unknown_voice_is_404(client, user, voice_id, voice) -> None:
    r = await speech(client, user, voice=voice, input=TEXT)
    body = assert_error(r, 404, "not_found")
    wanted = voice["id"] if isinstance(voice, dict) else voice
    assert body["details"] == {"voice": wanted}


async def test_another_keys_voice_is_invisible(client, user, new_key, voice_id) -> None:
    bob = await new_key("bob")
    bob.pop("_key_id")
    for voice in (voice_id, "alice-voice", {"id": voice_id}):
        r = await speech(client, bob, voice=voice, input=TEXT)
        assert_error(r, 404, "not_found")
    # Bob's own voice of the same name is his, and Alice still gets hers.
    bobs = await add_voice(client, bob, "alice-voice", hz=250)
    r = await speech(client, bob, voice="alice-voice", input=TEXT, response_format="wav")
    assert r.headers["X-Voice-Id"] == bobs
    r = await speech(client, user, voice="alice-voice", input=TEXT, response_format="wav")
    assert r.headers["X-Voice-Id"] == voice_id


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/audio/speech"), ("GET", "/v1/models"), ("GET", "/v1/models/tts-1")],
)
async def test_a_key_is_needed(client, voice_id, method, path) -> None:
    body = {"model": "tts-1", "input": TEXT, "voice": voice_id}
    for headers in ({}, {"Authorization": "Bearer vx_wrong"}, {"X-API-Key": "vx_wrong"}):
        r = await client.request(method, path, json=body, headers=headers)
        assert_error(r, 401, "unauthorized")
        assert r.headers["WWW-Authenticate"] == "Bearer"
    r = await client.request(method, path, json=body, headers={"X-API-Key": ADMIN_KEY})
    assert_error(r, 403, "forbidden")  # the admin key manages keys only


# --- GET /v1/models -------------------------------------------------------------------------------


async def test_models_list_the_openai_names_and_the_backends(client, user) -> None:
    r = await client.get("/v1/models", headers=user)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    assert ids == [
        "tts-1",
        "tts-1-hd",
        "gpt-4o-mini-tts",
        "gpt-4o-mini-tts-2025-12-15",
        "fake",
        "fake24",
        "whisper-1",
        "whisper",
    ]  # not the denoiser
    for model in body["data"]:
        assert set(model) == {"id", "object", "created", "owned_by"}
        assert model["object"] == "model" and model["owned_by"] == "voxclone"
        assert isinstance(model["created"], int) and model["created"] > 1_700_000_000


async def test_one_model(client, user) -> None:
    for model_id in ("tts-1", "fake24", "whisper-1", "whisper"):
        r = await client.get(f"/v1/models/{model_id}", headers=user)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == model_id and r.json()["object"] == "model"
    for model_id in ("nope", "hush"):
        r = await client.get(f"/v1/models/{model_id}", headers=user)
        body = assert_error(r, 404, "not_found")
        assert body["details"] == {"model": model_id}


# --- the official SDK over the ASGI transport -------------------------------------------------


async def test_the_openai_sdk(client, user, voice_id) -> None:
    key = user["Authorization"].removeprefix("Bearer ")
    sdk = openai.AsyncOpenAI(
        base_url="http://test/v1", api_key=key, http_client=client, max_retries=0
    )
    audio = await sdk.audio.speech.create(
        model="tts-1", voice="alice-voice", input=TEXT, response_format="flac", speed=1.5
    )
    samples, rate = sf.read(io.BytesIO(audio.content))
    assert rate == 16000
    assert len(samples) / rate == pytest.approx(0.05 * len(TEXT) / 1.5, abs=0.05)
    async with sdk.audio.speech.with_streaming_response.create(
        model="fake", voice={"id": voice_id}, input=TEXT, response_format="wav"
    ) as response:
        assert response.headers["X-Voice-Id"] == voice_id
        data = b"".join([chunk async for chunk in response.iter_bytes()])
    assert sf.info(io.BytesIO(data)).frames > 0
    models = [m.id async for m in sdk.models.list()]
    assert "tts-1" in models and "fake" in models
    assert (await sdk.models.retrieve("fake24")).owned_by == "voxclone"
    with pytest.raises(openai.NotFoundError):
        await sdk.audio.speech.create(model="tts-1", voice="nobody", input=TEXT)
    with pytest.raises(openai.BadRequestError):
        await sdk.audio.speech.create(model="tts-9", voice="alice-voice", input=TEXT)
    with pytest.raises(openai.UnprocessableEntityError):
        await sdk.audio.speech.create(
            model="tts-1", voice="alice-voice", input=TEXT, response_format="aac"
        )


# --- voxclone's own `openai` engine as the client -------------------------------------------------


@pytest.mark.parametrize("response_format", ["wav", "pcm"])
def test_voxclone_serves_its_own_openai_engine(settings, registry, response_format) -> None:
    """A gateway's ``openai`` engine pointed at a voxclone server speaks in a cloned voice of
    that server, named by its name (real HTTP on loopback)."""
    services = build_services(settings, engines=registry)
    with ThreadServer(create_app(services=services)) as url:
        admin = {"X-API-Key": ADMIN_KEY}
        key = httpx.post(f"{url}/v1/keys", json={"label": "gw"}, headers=admin).json()["api_key"]
        r = httpx.post(
            f"{url}/v1/voices",
            data={"name": "peer-voice", "ref_text": "hello there"},
            files={"ref_audio": ("ref.wav", tone_wav(hz=300), "audio/wav")},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 201, r.text
        engine = OpenAISpeechEngine(
            "peer",
            urls=[f"{url}/v1"],
            api_key=key,
            policy={"allow_loopback_urls": True, "timeout_s": 10.0},
            model="tts-1",
            voice="peer-voice",
            response_format=response_format,
        )
        try:
            assert engine.health().available
            prompt = engine.create_voice_prompt(Audio(np.zeros(16000, np.float32), 16000), None)
            chunks = list(engine.synthesize(TEXT, prompt, SynthesisParams(speed=2.0)))
        finally:
            engine.close()
    audio = concat_with_crossfade(chunks)
    assert audio.sample_rate == (24000 if response_format == "pcm" else 16000)
    assert audio.duration_s == pytest.approx(0.05 * len(TEXT) / 2.0, abs=0.02)
    assert float(np.abs(audio.samples).max()) > 0.2
