"""Noise suppression through the real app with the real DeepFilterNet runtime:
POST /v1/audio/denoise, WS /v1/audio/denoise/ws, and POST /v1/voices with denoise=true."""

from __future__ import annotations

import io
import json
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.conftest import ADMIN_KEY, make_settings
from tests.denoise_audio import clean_speech, si_sdr_db, snr_db, wav_bytes, with_white_noise
from voxclone.api.app import create_app
from voxclone.config import Settings
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import Services, build_services

pytestmark = pytest.mark.engine

MB = 1024 * 1024
WS_PATH = "/v1/audio/denoise/ws"
MAX_WS_MESSAGE = 64 * 1024
ODD_CHUNKS = (1, 333, 4097, 7, 2345, 480, 479)
"""Sample counts per binary message: nothing lines up with the model's 480-sample frames."""


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path / "data",
        database_url=database_url,
        limits={"max_speech_upload_bytes": 8 * MB},
        deepfilter={
            "max_streams": 2,
            "max_ws_message_bytes": MAX_WS_MESSAGE,
            "ws_idle_timeout_s": 1.0,
        },
    )


@pytest.fixture
def registry() -> EngineRegistry:
    return EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
            EngineSpec(
                "deepfilternet", "voxclone.engines.deepfilter:DeepFilterEngine", kind="denoise"
            ),
        ]
    )


def noisy_clip(seconds: float = 4.0) -> tuple[np.ndarray, np.ndarray, int]:
    clean, rate = clean_speech(seconds)
    return clean, with_white_noise(clean, snr_db=5.0), rate


def decode(data: bytes) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    return samples, int(rate)


def two_hour_wav() -> bytes:
    """A real WAV of two hours of silence (1 kHz, 8-bit: 7.2 MB, under the upload limit)."""
    frames = 2 * 3600 * 1000
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + frames)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 1000, 1000, 1, 8)
        + b"data"
        + struct.pack("<I", frames)
    )
    return header + b"\x80" * frames


async def post_denoise(
    client: httpx.AsyncClient, headers: dict[str, str], audio: bytes, **data: str
) -> httpx.Response:
    return await client.post(
        "/v1/audio/denoise",
        data=data,
        files={"file": ("noisy.bin", audio, "application/octet-stream")},
        headers=headers,
    )


# --- POST /v1/audio/denoise ---------------------------------------------------------------------


async def test_denoise_raises_snr_and_keeps_length_and_rate(client, user) -> None:
    clean, noisy, rate = noisy_clip()
    r = await post_denoise(client, user, wav_bytes(noisy, rate))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    assert r.headers["x-backend"] == "deepfilternet"
    assert float(r.headers["x-audio-duration"]) == pytest.approx(clean.size / rate, abs=1e-3)
    assert int(r.headers["x-processing-time-ms"]) > 0
    out, out_rate = decode(r.content)
    assert out_rate == rate and out.size == clean.size
    # Measured +9.0 dB SNR and +9.3 dB SI-SDR (16-bit WAV round trip included).
    assert snr_db(clean, out) - snr_db(clean, noisy) > 6.0
    assert si_sdr_db(clean, out) - si_sdr_db(clean, noisy) > 6.0


@pytest.mark.parametrize(
    ("in_format", "out_format", "expected_type", "sniffed_as"),
    [
        ("FLAC", None, "audio/flac", "FLAC"),
        ("OGG", None, "audio/ogg", "OGG"),
        ("MP3", None, "audio/mpeg", "MP3"),
        ("WAV", "flac", "audio/flac", "FLAC"),
        ("WAV", "mp3", "audio/mpeg", "MP3"),
        ("WAV", "opus", "audio/ogg", "OGG"),
        ("FLAC", "wav", "audio/wav", "WAV"),
    ],
)
async def test_format_round_trips(
    client, user, in_format: str, out_format: str | None, expected_type: str, sniffed_as: str
) -> None:
    clean, noisy, rate = noisy_clip(2.0)
    if in_format == "MP3":
        rate_in = 16000
        upload = wav_bytes(noisy, rate_in, fmt="MP3")
    else:
        upload = wav_bytes(noisy, rate, fmt=in_format)
    data = {"format": out_format} if out_format else {}
    r = await post_denoise(client, user, upload, **data)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == expected_type
    info = sf.info(io.BytesIO(r.content))
    assert info.format == sniffed_as
    out, out_rate = decode(r.content)
    assert out.size / out_rate == pytest.approx(2.0, abs=0.08)  # MP3/Opus add codec padding
    if in_format in ("WAV", "FLAC") and out_format in (None, "wav", "flac"):
        assert out.size == clean.size
        assert si_sdr_db(clean, out) - si_sdr_db(clean, noisy) > 6.0


async def test_pcm_and_sample_rate(client, user) -> None:
    _, noisy, rate = noisy_clip(2.0)
    r = await post_denoise(client, user, wav_bytes(noisy, rate), format="pcm", sample_rate="8000")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    assert len(r.content) == 2 * 2 * 8000  # s16le, 2 s at 8 kHz
    r = await post_denoise(client, user, wav_bytes(noisy, rate), sample_rate="48000")
    out, out_rate = decode(r.content)
    assert out_rate == 48000 and out.size == 2 * 48000


async def test_silence_and_a_short_clip_come_back_as_long(client, user) -> None:
    r = await post_denoise(client, user, wav_bytes(np.zeros(3 * 16000, dtype=np.float32), 16000))
    assert r.status_code == 200, r.text
    out, _ = decode(r.content)
    assert out.size == 3 * 16000 and float(np.max(np.abs(out))) < 1e-3
    _, noisy, rate = noisy_clip(0.2)
    r = await post_denoise(client, user, wav_bytes(noisy, rate))
    assert r.status_code == 200, r.text
    out, _ = decode(r.content)
    assert out.size == noisy.size == int(0.2 * rate)


async def test_a_two_hour_file_is_refused_from_its_header(client, user) -> None:
    long = two_hour_wav()
    assert len(long) < 8 * MB
    started = time.perf_counter()
    r = await post_denoise(client, user, long)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "audio_duration_out_of_range"
    assert body["details"]["duration_s"] == 7200 and body["details"]["max_s"] == 3600
    assert time.perf_counter() - started < 5.0


@pytest.mark.parametrize(
    ("audio", "data", "status", "code"),
    [
        (b"\x00\x01garbage, not audio" * 100, {}, 422, "invalid_audio"),
        (b"", {}, 422, "invalid_audio"),
        (b"RIFF\x00\x00\x00\x00WAVE", {}, 422, "invalid_audio"),
        (None, {"format": "aac"}, 422, "unsupported_format"),
        (None, {"sample_rate": "fast"}, 400, "invalid_request"),
        (None, {"sample_rate": "1000"}, 422, "unsupported_sample_rate"),
        (None, {"sample_rate": "192000"}, 422, "unsupported_sample_rate"),
    ],
)
async def test_bad_input_is_a_json_error(client, user, audio, data, status, code) -> None:
    if audio is None:
        _, noisy, rate = noisy_clip(0.5)
        audio = wav_bytes(noisy, rate)
    r = await post_denoise(client, user, audio, **data)
    assert r.status_code == status, r.text
    assert r.json()["error"] == code


async def test_too_large_and_missing_file_and_no_key(client, user) -> None:
    r = await post_denoise(client, user, b"\x00" * (9 * MB))
    assert r.status_code == 413 and r.json()["error"] == "audio_too_large"
    r = await client.post(
        "/v1/audio/denoise", data={"format": "wav"}, files={"x": ("a", b"1")}, headers=user
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "file"
    _, noisy, rate = noisy_clip(0.5)
    r = await client.post("/v1/audio/denoise", files={"file": ("a.wav", wav_bytes(noisy, rate))})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


# --- POST /v1/voices with denoise=true ----------------------------------------------------------


async def test_voice_reference_is_denoised_before_it_is_stored(client, new_key, services) -> None:
    user = await new_key("denoiser")
    key_id = user.pop("_key_id")
    clean, noisy, rate = noisy_clip(4.0)
    upload = wav_bytes(noisy, rate)
    r = await client.post(
        "/v1/voices",
        data={"name": "cleaned", "ref_text": "please call stella", "denoise": "true"},
        files={"ref_audio": ("ref.mp3", upload, "audio/mpeg")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    voice = r.json()
    assert voice["denoised"] is True
    assert voice["ref_format"] == "flac" and voice["ref_sample_rate"] == rate
    assert voice["ref_duration_s"] == pytest.approx(4.0, abs=1e-3)
    ref = await client.get(f"/v1/voices/{voice['voice_id']}/reference", headers=user)
    assert ref.headers["content-type"] == "audio/flac"
    stored, stored_rate = decode(ref.content)
    assert stored_rate == rate and stored.size == clean.size
    assert si_sdr_db(clean, stored) - si_sdr_db(clean, noisy) > 6.0
    record = await services.voices.get(key_id=key_id, voice_id=voice["voice_id"])
    assert record.meta["denoised"] is True
    assert record.meta["denoiser"] == "deepfilternet"
    assert record.meta["original_format"] == "wav"


async def test_voice_without_denoise_keeps_the_upload(client, user) -> None:
    _, noisy, rate = noisy_clip(4.0)
    upload = wav_bytes(noisy, rate)
    for flag in (None, "false"):
        data = {"name": "raw", "ref_text": "x", **({"denoise": flag} if flag else {})}
        r = await client.post(
            "/v1/voices", data=data, files={"ref_audio": ("r.wav", upload)}, headers=user
        )
        assert r.status_code == 201, r.text
        assert r.json()["denoised"] is False and r.json()["ref_format"] == "wav"
        ref = await client.get(f"/v1/voices/{r.json()['voice_id']}/reference", headers=user)
        assert ref.content == upload
    r = await client.post(
        "/v1/voices",
        data={"name": "x", "ref_text": "x", "denoise": "maybe"},
        files={"ref_audio": ("r.wav", upload)},
        headers=user,
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "denoise"


# --- WS /v1/audio/denoise/ws --------------------------------------------------------------------


@dataclass
class WsApp:
    client: TestClient
    key: str
    services: Services

    def live_states(self) -> int:
        return int(self.services.engines.get_denoiser("deepfilternet").live_states)  # type: ignore[attr-defined]

    def wait_released(self, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.services.denoise.active == 0 and self.live_states() == 0:
                return
            time.sleep(0.02)
        raise AssertionError(
            f"stream state not freed: {self.services.denoise.active} active, "
            f"{self.live_states()} live"
        )


@pytest.fixture
def ws_app(settings: Settings, registry: EngineRegistry) -> Iterator[WsApp]:
    services = build_services(settings, engines=registry)
    with TestClient(create_app(services=services)) as client:
        r = client.post(
            "/v1/keys", json={"label": "ws"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        assert r.status_code == 201, r.text
        yield WsApp(client=client, key=r.json()["api_key"], services=services)


def stream_clip(ws: Any, samples: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Send ``samples`` in odd chunks, then stop; collect every sample and the summary."""
    at, i = 0, 0
    while at < samples.size:
        size = ODD_CHUNKS[i % len(ODD_CHUNKS)]
        ws.send_bytes(samples[at : at + size].astype("<f4").tobytes())
        at, i = at + size, i + 1
    ws.send_text(json.dumps({"type": "stop"}))
    parts: list[np.ndarray] = []
    while True:
        message = ws.receive()
        assert message["type"] == "websocket.send", message
        if message.get("bytes") is not None:
            parts.append(np.frombuffer(message["bytes"], dtype="<f4"))
            continue
        summary: dict[str, Any] = json.loads(message["text"])
        assert summary["type"] == "done", summary
        assert ws.receive()["code"] == 1000
        return np.concatenate(parts), summary


def error_and_close(ws: Any) -> tuple[dict[str, Any], int]:
    error = ws.receive_json()
    assert error["type"] == "error", error
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    return error, closed.value.code


@pytest.mark.parametrize("rate", [16000, 48000])
def test_ws_streams_a_noisy_clip_in_odd_chunks(ws_app: WsApp, rate: int) -> None:
    clean, noisy, clip_rate = noisy_clip(3.0)
    if rate != clip_rate:
        from voxclone.audio import resample
        from voxclone.core.types import Audio

        clean = resample(Audio(clean, clip_rate), rate).samples
        noisy = resample(Audio(noisy, clip_rate), rate).samples
    with ws_app.client.websocket_connect(f"{WS_PATH}?api_key={ws_app.key}") as ws:
        ws.send_json({"type": "start", "sample_rate": rate})
        started = ws.receive_json()
        assert started == {
            "type": "started",
            "sample_rate": rate,
            "encoding": "float32le",
            "latency_ms": 40,
        }
        assert ws_app.live_states() == 1
        out, summary = stream_clip(ws, noisy)
    assert out.size == noisy.size
    assert summary["samples_in"] == summary["samples_out"] == noisy.size
    assert summary["duration_s"] == pytest.approx(3.0, abs=1e-3)
    assert si_sdr_db(clean, out) - si_sdr_db(clean, noisy) > 6.0
    ws_app.wait_released()


def test_ws_accepts_the_key_in_a_header(ws_app: WsApp) -> None:
    headers = {"Authorization": f"Bearer {ws_app.key}"}
    with ws_app.client.websocket_connect(WS_PATH, headers=headers) as ws:
        ws.send_json({"type": "start", "sample_rate": 8000})
        assert ws.receive_json()["type"] == "started"
        out, summary = stream_clip(ws, np.zeros(800, dtype=np.float32))
    assert out.size == 800 and summary["samples_out"] == 800
    ws_app.wait_released()


@pytest.mark.parametrize(
    "key", [None, "vx_not-a-real-key", ADMIN_KEY], ids=["no key", "wrong key", "admin key"]
)
def test_ws_refuses_wrong_keys(ws_app: WsApp, key: str | None) -> None:
    path = WS_PATH if key is None else f"{WS_PATH}?api_key={key}"
    with ws_app.client.websocket_connect(path) as ws:
        error, code = error_and_close(ws)
    assert error["error"] in ("unauthorized", "forbidden")
    assert code == 1008
    assert ws_app.services.denoise.active == 0


@pytest.mark.parametrize(
    "start",
    [
        {"type": "start", "sample_rate": 12345},
        {"type": "start", "sample_rate": "48000"},
        {"type": "start", "sample_rate": True},
        {"type": "start"},
    ],
)
def test_ws_refuses_a_wrong_sample_rate(ws_app: WsApp, start: dict[str, Any]) -> None:
    with ws_app.client.websocket_connect(f"{WS_PATH}?api_key={ws_app.key}") as ws:
        ws.send_json(start)
        error, code = error_and_close(ws)
    assert error["error"] == "unsupported_sample_rate"
    assert 48000 in error["details"]["allowed"]
    assert code == 1003
    ws_app.wait_released()


def _send(ws: Any, what: str) -> None:
    if what == "binary before start":
        ws.send_bytes(np.zeros(480, dtype="<f4").tobytes())
    elif what == "start is not json":
        ws.send_text("start please")
    elif what == "json but not an object":
        ws.send_text("[1, 2]")
    elif what == "unknown first message":
        ws.send_json({"type": "hello"})


@pytest.mark.parametrize(
    "what",
    ["binary before start", "start is not json", "json but not an object", "unknown first message"],
)
def test_ws_refuses_garbage_before_start(ws_app: WsApp, what: str) -> None:
    with ws_app.client.websocket_connect(f"{WS_PATH}?api_key={ws_app.key}") as ws:
        _send(ws, what)
        error, code = error_and_close(ws)
    assert error["error"] == "invalid_request"
    assert code == 1003


@pytest.mark.parametrize(
    ("payload", "code", "close_code"),
    [
        (b"\x00\x00\x80\x3f\x00", "invalid_request", 1003),  # 5 bytes: not whole float32s
        (np.array([0.1, np.nan, 0.2], dtype="<f4").tobytes(), "invalid_audio", 1003),
        (np.array([np.inf] * 4, dtype="<f4").tobytes(), "invalid_audio", 1003),
        (b"\x00" * (MAX_WS_MESSAGE + 4), "payload_too_large", 1009),
        ("not json", "invalid_request", 1003),
        ('{"type": "pause"}', "invalid_request", 1003),
    ],
    ids=["odd length", "nan", "inf", "oversized", "text not json", "unknown control"],
)
def test_ws_garbage_mid_stream_frees_the_state(
    ws_app: WsApp, payload: bytes | str, code: str, close_code: int
) -> None:
    with ws_app.client.websocket_connect(f"{WS_PATH}?api_key={ws_app.key}") as ws:
        ws.send_json({"type": "start", "sample_rate": 16000})
        assert ws.receive_json()["type"] == "started"
        ws.send_bytes(np.zeros(1600, dtype="<f4").tobytes())
        if isinstance(payload, str):
            ws.send_text(payload)
        else:
            ws.send_bytes(payload)
        messages = []
        while True:
            message = ws.receive()
            if message["type"] == "websocket.close":
                break
            messages.append(message)
    errors = [json.loads(m["text"]) for m in messages if m.get("text")]
    assert [e["error"] for e in errors] == [code]
    assert message["code"] == close_code
    ws_app.wait_released()


def test_ws_client_disconnecting_mid_stream_frees_the_state(ws_app: WsApp) -> None:
    _, noisy, rate = noisy_clip(1.0)
    for _ in range(3):
        with ws_app.client.websocket_connect(f"{WS_PATH}?api_key={ws_app.key}") as ws:
            ws.send_json({"type": "start", "sample_rate": rate})
            assert ws.receive_json()["type"] == "started"
            ws.send_bytes(noisy[:8000].astype("<f4").tobytes())
            assert ws.receive()["type"] == "websocket.send"  # some output came back
            ws.send_bytes(noisy[8000:].astype("<f4").tobytes())
        # leaving the block closes the socket without a stop
        ws_app.wait_released()


def test_ws_too_many_streams_are_refused_until_one_ends(ws_app: WsApp) -> None:
    # Each stream connects only once the one before has started: a socket that waited while
    # another loaded the model could pass the 1 s idle limit on a slow host and be closed.
    url = f"{WS_PATH}?api_key={ws_app.key}"
    with ws_app.client.websocket_connect(url) as first:
        first.send_json({"type": "start", "sample_rate": 16000})
        assert first.receive_json()["type"] == "started"
        with ws_app.client.websocket_connect(url) as second:
            second.send_json({"type": "start", "sample_rate": 16000})
            assert second.receive_json()["type"] == "started"
            with ws_app.client.websocket_connect(url) as third:
                third.send_json({"type": "start", "sample_rate": 16000})
                error, code = error_and_close(third)
            assert error["error"] == "rate_limited" and code == 1013
    ws_app.wait_released()
    with ws_app.client.websocket_connect(url) as again:
        again.send_json({"type": "start", "sample_rate": 16000})
        assert again.receive_json()["type"] == "started"
        stream_clip(again, np.zeros(100, dtype=np.float32))


def test_ws_idle_client_is_closed(ws_app: WsApp) -> None:
    with ws_app.client.websocket_connect(f"{WS_PATH}?api_key={ws_app.key}") as ws:
        ws.send_json({"type": "start", "sample_rate": 16000})
        assert ws.receive_json()["type"] == "started"
        error, code = error_and_close(ws)  # nothing sent for ws_idle_timeout_s (1 s)
    assert "no message" in error["message"] and code == 1003
    ws_app.wait_released()


def test_ws_stream_longer_than_the_limit_is_stopped(
    settings: Settings, registry: EngineRegistry
) -> None:
    limits = settings.limits.model_copy(update={"max_speech_audio_s": 0.5})
    services = build_services(settings.model_copy(update={"limits": limits}), engines=registry)
    with TestClient(create_app(services=services)) as client:
        r = client.post(
            "/v1/keys", json={"label": "ws"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        url = f"{WS_PATH}?api_key={r.json()['api_key']}"
        with client.websocket_connect(url) as ws:
            ws.send_json({"type": "start", "sample_rate": 16000})
            assert ws.receive_json()["type"] == "started"
            ws.send_bytes(np.zeros(6000, dtype="<f4").tobytes())  # 0.375 s: fine
            ws.send_bytes(np.zeros(6000, dtype="<f4").tobytes())  # 0.75 s in all: too long
            messages = []
            while (message := ws.receive())["type"] != "websocket.close":
                messages.append(message)
        errors = [json.loads(m["text"]) for m in messages if m.get("text")]
        assert [e["error"] for e in errors] == ["audio_duration_out_of_range"]
        assert message["code"] == 1008
        assert services.denoise.active == 0
