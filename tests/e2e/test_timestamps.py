"""Speech with timestamps and captions from the real Piper and Kokoro engines, through the API:
``with_timestamps`` on POST /v1/synthesize (whole and streamed), the captions route, and
Kokoro-FastAPI's captioned speech."""

from __future__ import annotations

import base64
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf

from tests.conftest import ADMIN_KEY, make_settings, tone_wav
from voxclone.api.app import create_app
from voxclone.engines.kokoro_assets import VOICES_FILE
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[2]
KOKORO_DIR = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared")) / "models/kokoro"
TEXT = "Hello there,   Dr. Smith.\n\nIt cost 25 dollars in 1990! The quick brown fox jumps high."
WORDS = ["Hello", "there,", "Dr.", "Smith.", "It", "cost", "25", "dollars", "in", "1990!"]
WORDS += ["The", "quick", "brown", "fox", "jumps", "high."]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (KOKORO_DIR / VOICES_FILE).is_file():
        pytest.skip(f"no Kokoro voices at {KOKORO_DIR}")
    return tmp_path_factory.mktemp("timestamps")


@pytest.fixture
async def api(data_dir: Path):  # type: ignore[no-untyped-def]
    settings = make_settings(data_dir, default_backend="piper")
    kokoro = {"data_dir": data_dir, "shared_models_dir": KOKORO_DIR, "fit": False}
    registry = EngineRegistry(
        [
            EngineSpec("piper", "voxclone.engines.piper:PiperEngine"),
            EngineSpec("local", "voxclone.engines.kokoro:KokoroEngine", options=kokoro),
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
        ]
    )
    app = create_app(services=build_services(settings, engines=registry))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as client,
    ):
        key = await client.post("/v1/keys", json={"label": "ts"}, headers={"X-API-Key": ADMIN_KEY})
        user = {"Authorization": f"Bearer {key.json()['api_key']}"}
        voices = {}
        for backend in ("piper", "local", "fake"):
            r = await client.post(
                "/v1/voices",
                data={"name": backend, "backend": backend, "lang": "en"},
                files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
                headers=user,
            )
            assert r.status_code == 201, r.text
            voices[backend] = r.json()["voice_id"]
        yield client, user, voices


def check_alignment(shape: dict[str, Any], text: str, duration_s: float) -> None:
    """One start and end per character of ``text``; never decreasing; within the audio."""
    chars = shape["characters"]
    starts = shape["character_start_times_seconds"]
    ends = shape["character_end_times_seconds"]
    assert "".join(chars) == text
    assert len(starts) == len(ends) == len(chars)
    assert starts == sorted(starts) and ends == sorted(ends)
    assert all(0 <= s <= e <= duration_s + 1e-3 for s, e in zip(starts, ends, strict=True))
    assert ends[-1] > duration_s - 0.5, (ends[-1], duration_s)


def check_words(words: list[dict[str, Any]], duration_s: float) -> None:
    assert [w["word"] for w in words] == WORDS
    starts = [w["start"] for w in words]
    assert starts == sorted(starts)
    assert all(w["end"] > w["start"] for w in words)
    assert words[0]["start"] < 0.4 and words[-1]["end"] > duration_s - 0.6
    # "25" is read as "twenty five", "1990" as "nineteen ninety": longer than "in"
    by_word = {w["word"]: w["end"] - w["start"] for w in words}
    assert by_word["25"] > 2 * by_word["in"] and by_word["1990!"] > 2 * by_word["in"]


@pytest.mark.parametrize("backend", ["piper", "local"])
async def test_synthesize_with_timestamps(api, backend: str) -> None:  # type: ignore[no-untyped-def]
    client, user, voices = api
    body = {"voice_id": voices[backend], "text": TEXT, "with_timestamps": True}
    r = await client.post("/v1/synthesize", json={**body, "caption_format": "srt"}, headers=user)
    assert r.status_code == 200, r.text
    got = r.json()
    samples, rate = sf.read(io.BytesIO(base64.b64decode(got["audio_base64"])), dtype="float32")
    duration = len(samples) / rate
    assert abs(duration - got["duration_s"]) < 0.01 and got["backend"] == backend
    check_alignment(got["alignment"], TEXT, duration)
    check_alignment(got["normalized_alignment"], " ".join(TEXT.split()), duration)
    check_words(got["words"], duration)
    assert got["captions"].startswith("1\n00:00:00,")
    assert "Hello there, Dr. Smith." in got["captions"]

    again = await client.post("/v1/synthesize", json=body, headers=user)
    assert again.headers["X-Cache"] == "HIT"
    assert again.json()["audio_base64"] == got["audio_base64"]
    assert again.json()["alignment"] == got["alignment"]
    plain = await client.post(
        "/v1/synthesize", json={**body, "with_timestamps": False}, headers=user
    )
    assert plain.status_code == 200 and plain.headers["X-Cache"] == "HIT"


async def test_timestamps_follow_speed(api) -> None:  # type: ignore[no-untyped-def]
    client, user, voices = api
    ends = []
    for speed in (1.0, 1.5):
        body = {"voice_id": voices["local"], "text": TEXT, "with_timestamps": True, "speed": speed}
        got = (await client.post("/v1/synthesize", json=body, headers=user)).json()
        assert got["words"][-1]["end"] <= got["duration_s"]
        ends.append(got["words"][-1]["end"])
    assert ends[1] < ends[0] * 0.8


@pytest.mark.parametrize("backend", ["piper", "local"])
async def test_streamed_timestamps(api, backend: str) -> None:  # type: ignore[no-untyped-def]
    client, user, voices = api
    body = {"voice_id": voices[backend], "text": TEXT, "with_timestamps": True, "stream": True}
    lines = []
    async with client.stream(
        "POST", "/v1/synthesize", json={**body, "format": "pcm_16000"}, headers=user
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        async for line in r.aiter_lines():
            if line:
                lines.append(json.loads(line))
    assert len(lines) >= 3  # one chunk per sentence at least
    audio = b"".join(base64.b64decode(line["audio_base64"]) for line in lines)
    duration = len(audio) / 2 / 16000
    shapes = [line["alignment"] for line in lines if line["alignment"]]
    joined = {
        key: [v for shape in shapes for v in shape[key]]
        for key in ("characters", "character_start_times_seconds", "character_end_times_seconds")
    }
    check_alignment(joined, " ".join(TEXT.split()), duration)
    words = [w for line in lines for w in line["words"]]
    check_words(words, duration)
    # each chunk's times are from the start of the whole audio: later chunks start later
    firsts = [shape["character_start_times_seconds"][0] for shape in shapes]
    assert firsts == sorted(firsts) and firsts[-1] > 1.0


async def test_captions_route(api) -> None:  # type: ignore[no-untyped-def]
    client, user, voices = api
    body = {"voice_id": voices["piper"], "text": TEXT}
    r = await client.post("/v1/synthesize/captions?format=vtt", json=body, headers=user)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/vtt")
    vtt = r.text
    assert vtt.startswith("WEBVTT\n\n00:00:00.")
    cues = re.findall(r"(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(.+)\n", vtt)
    assert " ".join(text for _, _, text in cues) == " ".join(WORDS)
    assert [c[0] for c in cues] == sorted(c[0] for c in cues)
    srt = await client.post("/v1/synthesize/captions?format=srt", json=body, headers=user)
    assert srt.headers["X-Cache"] == "HIT" and srt.text.startswith("1\n00:00:00,")
    bad = await client.post("/v1/synthesize/captions?format=ass", json=body, headers=user)
    assert bad.status_code == 422 and bad.json()["error"] == "unsupported_format"


async def test_captioned_speech(api) -> None:  # type: ignore[no-untyped-def]
    client, user, voices = api
    body = {"model": "tts-1", "voice": voices["local"], "input": TEXT, "stream": False}
    r = await client.post("/dev/captioned_speech", json=body, headers=user)
    assert r.status_code == 200, r.text
    got = r.json()
    mp3 = base64.b64decode(got["audio"])
    assert got["audio_format"] == "mp3" and mp3[0] == 0xFF and mp3[1] & 0xE0 == 0xE0
    assert [w["word"] for w in got["timestamps"]] == WORDS
    lines = []
    async with client.stream(
        "POST",
        "/dev/captioned_speech",
        json={**body, "stream": True, "input": "One. Two three."},
        headers=user,
    ) as r:
        async for line in r.aiter_lines():
            if line:
                lines.append(json.loads(line))
    words = [w for line in lines for w in line["timestamps"]]
    assert [w["word"] for w in words] == ["One.", "Two", "three."]
    assert words[1]["start_time"] > words[0]["end_time"]


async def test_engine_without_timing(api) -> None:  # type: ignore[no-untyped-def]
    client, user, voices = api
    body = {"voice_id": voices["fake"], "text": "Hello.", "with_timestamps": True}
    r = await client.post("/v1/synthesize", json=body, headers=user)
    assert r.status_code == 422
    error = r.json()
    assert error["error"] == "timestamps_unsupported" and "'fake'" in error["message"], error
    bad = {**body, "voice_id": voices["piper"], "caption_format": "txt"}
    r = await client.post("/v1/synthesize", json=bad, headers=user)
    assert r.status_code == 422 and r.json()["error"] == "unsupported_format"
