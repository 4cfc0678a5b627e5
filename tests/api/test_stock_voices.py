"""Stock voices: the built-in engines' own voices (Kokoro ``local``, Piper), every key's without
uploading a clip. Listed and paged with the key's voices, read-only, spoken by id, name, OpenAI
name or Kokoro-FastAPI mix in every synthesis path, with the real Piper and Kokoro engines."""

from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import pytest
import soundfile as sf
from starlette.testclient import TestClient

from tests.api.test_tts_ws import new_key as ws_key
from tests.api.test_tts_ws import started, until_closed
from tests.conftest import tone_wav, wait_for_job
from voxclone.api.app import create_app
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import build_services

REPO = Path(__file__).resolve().parents[2]
KOKORO_DIR = (
    Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared")) / "models" / "kokoro"
)
PIPER = "en_US-joe-medium"
TEXT = "The quick brown fox jumps over the lazy dog."
pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def kokoro_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Kokoro's data dir for the module: its rewritten graph is made once."""
    if not (KOKORO_DIR / "voices-v1.0.npz").is_file():
        pytest.skip(f"no Kokoro voices at {KOKORO_DIR}")
    return tmp_path_factory.mktemp("kokoro")


@pytest.fixture
def registry(kokoro_data: Path) -> EngineRegistry:
    kokoro = {"data_dir": kokoro_data, "shared_models_dir": KOKORO_DIR, "fit": False, "threads": 1}
    return EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
            EngineSpec("piper", "voxclone.engines.piper:PiperEngine"),
            EngineSpec("local", "voxclone.engines.kokoro:KokoroEngine", options=kokoro),
        ]
    )


def decoded(data: bytes) -> np.ndarray:
    samples, _ = sf.read(io.BytesIO(data), dtype="float32")
    return np.asarray(samples)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


async def speak(client: httpx.AsyncClient, voice: str, headers: dict[str, str], **body: object):
    return await client.post(
        f"/v1/text-to-speech/{quote(voice, safe='')}",
        json={"text": TEXT, **body},
        headers=headers,
    )


# --- listing and reading ----------------------------------------------------------------------


async def test_stock_voices_are_listed_for_every_key(client, user, new_key) -> None:
    r = await client.get("/v1/voices", params={"category": "stock", "limit": 1000}, headers=user)
    assert r.status_code == 200, r.text
    voices = {v["voice_id"]: v for v in r.json()}
    assert len(voices) == 56  # Kokoro's 55 and Piper's one
    heart = voices["af_heart"]
    assert heart["category"] == "stock" and heart["backend"] == "local"
    assert heart["lang"] == "en-us" and heart["status"] == "ready"
    assert heart["labels"] == {
        "gender": "female",
        "accent": "american",
        "language": "en-us",
        "engine": "kokoro",
        "openai_voice": "coral",
    }
    assert heart["ref_format"] is None and heart["ref_duration_s"] is None
    assert voices[PIPER]["backend"] == "piper" and voices[PIPER]["lang"] == "en"
    # Another key sees the same voices; its own list (the default) is still only its own.
    other = await new_key("bob")
    other.pop("_key_id")
    again = await client.get("/v1/voices?category=stock&limit=1000", headers=other)
    assert {v["voice_id"] for v in again.json()} == set(voices)
    assert (await client.get("/v1/voices", headers=other)).json() == []


async def test_all_pages_through_own_voices_then_stock(client, user, voice_id) -> None:
    walked: list[dict[str, object]] = []
    cursor = ""
    while True:
        r = await client.get(
            "/v1/voices", params={"category": "all", "limit": 20, "cursor": cursor}, headers=user
        )
        assert r.status_code == 200, r.text
        walked += r.json()["voices"]
        cursor = r.json()["next_cursor"]
        if not r.json()["has_more"]:
            break
    ids = [v["voice_id"] for v in walked]
    assert len(ids) == 57 and len(set(ids)) == 57
    assert ids[0] == voice_id and walked[0]["category"] == "cloned"
    assert all(v["category"] == "stock" for v in walked[1:])
    # Offsets walk the same list.
    by_offset = [
        v["voice_id"]
        for offset in range(0, 57, 10)
        for v in (
            await client.get(
                "/v1/voices",
                params={"category": "all", "limit": 10, "offset": offset},
                headers=user,
            )
        ).json()
    ]
    assert by_offset == ids
    found = await client.get(
        "/v1/voices", params={"category": "stock", "search": "JOE"}, headers=user
    )
    assert [v["voice_id"] for v in found.json()] == [PIPER]
    bad = await client.get("/v1/voices", params={"category": "premade"}, headers=user)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request", bad.text


async def test_stock_voices_are_got_by_id_openai_name_and_mix(client, user) -> None:
    r = await client.get("/v1/voices/af_heart", headers=user)
    assert r.status_code == 200 and r.json()["category"] == "stock", r.text
    alloy = await client.get("/v1/voices/alloy", headers=user)
    assert alloy.json()["voice_id"] == "af_alloy"
    assert (await client.get("/v1/voices/local:AF_HEART", headers=user)).json()[
        "name"
    ] == "af_heart"
    mix = await client.get(f"/v1/voices/{quote('af_sky(1)+af_bella(2)')}", headers=user)
    assert mix.status_code == 200, mix.text
    assert mix.json()["voice_id"] == "af_bella(0.667)+af_sky(0.333)"
    assert mix.json()["tags"] == ["stock", "kokoro", "mix"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/v1/voices/af_heart"),
        ("DELETE", "/v1/voices/af_heart"),
        ("DELETE", "/v1/voices/alloy"),
        ("GET", "/v1/voices/af_heart/reference"),
        ("GET", "/v1/voices/af_heart/samples"),
        ("POST", "/v1/voices/af_heart/samples"),
        ("GET", f"/v1/voices/{PIPER}/export"),
    ],
)
async def test_stock_voices_are_read_only(client, user, method, path) -> None:
    kwargs: dict[str, object] = {}
    if method == "PATCH":
        kwargs["json"] = {"name": "mine now"}
    if method == "POST":
        kwargs["files"] = {"audio": ("ref.wav", tone_wav(), "audio/wav")}
    r = await client.request(method, path, headers=user, **kwargs)
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "stock_voice_read_only"
    assert "stock voice" in r.json()["message"]


# --- speaking ---------------------------------------------------------------------------------


async def test_piper_stock_voice_speaks_and_is_cached_for_every_key(client, user, new_key) -> None:
    first = await speak(client, PIPER, user)
    assert first.status_code == 200, first.text
    assert first.headers["X-Voice-Id"] == PIPER and first.headers["X-Backend"] == "piper"
    assert first.headers["X-Cache"] == "MISS"
    assert rms(decoded(first.content)) > 0.01
    other = await new_key("bob")
    other.pop("_key_id")
    again = await speak(client, PIPER.lower(), other)  # names match in any case
    assert again.headers["X-Cache"] == "HIT" and again.content == first.content
    history = (await client.get("/v1/history", headers=other)).json()["items"]
    assert [(h["voice_id"], h["voice_name"]) for h in history] == [(PIPER, PIPER)]


async def test_stock_voice_jobs_and_streams(client, user) -> None:
    r = await client.post(
        "/v1/synthesize", json={"voice_id": PIPER, "text": "A job in a stock voice."}, headers=user
    )
    assert r.status_code == 202, r.text
    job = await wait_for_job(client, r.json()["job_id"], user)
    assert job["status"] == "ready" and job["voice_id"] == PIPER, job
    audio = await client.get(f"/v1/jobs/{job['job_id']}/audio", headers=user)
    assert audio.status_code == 200 and rms(decoded(audio.content)) > 0.01
    streamed = await client.post(
        f"/v1/text-to-speech/{PIPER}/stream?output_format=pcm_16000",
        json={"text": "Streamed in a stock voice. Two sentences."},
        headers=user,
    )
    assert streamed.status_code == 200 and len(streamed.content) > 16000, streamed.text
    assert streamed.headers["X-Voice-Id"] == PIPER


async def test_openai_names_speak_with_kokoro(client, user) -> None:
    r = await client.post(
        "/v1/audio/speech",
        json={"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": "wav"},
        headers=user,
    )
    assert r.status_code == 200, r.text
    assert r.headers["X-Voice-Id"] == "af_alloy" and r.headers["X-Backend"] == "local"
    samples = decoded(r.content)
    assert 1.5 < len(samples) / 24000 < 8 and rms(samples) > 0.01
    heart = await client.post(
        "/v1/audio/speech",
        json={
            "model": "tts-1",
            "voice": {"id": "af_heart"},
            "input": TEXT,
            "response_format": "wav",
        },
        headers=user,
    )
    assert heart.headers["X-Voice-Id"] == "af_heart" and heart.content != r.content
    # Kokoro-FastAPI's clients name their model "kokoro".
    kokoro = await client.post(
        "/v1/audio/speech",
        json={"model": "kokoro", "voice": "af_bella+af_sky", "input": TEXT},
        headers=user,
    )
    assert kokoro.status_code == 200, kokoro.text
    assert kokoro.headers["X-Voice-Id"] == "af_bella(0.5)+af_sky(0.5)"


async def test_mixes_are_voices_of_their_own_and_cached(client, user) -> None:
    bella = await speak(client, "af_bella", user)
    mix = await speak(client, "af_bella(2)+af_sky(1)", user)
    assert mix.status_code == 200, mix.text
    assert mix.headers["X-Voice-Id"] == "af_bella(0.667)+af_sky(0.333)"
    assert mix.headers["X-Cache"] == "MISS" and mix.content != bella.content
    same = await speak(client, " af_sky + af_bella(2.0) + af_bella(2) ", user)
    assert same.headers["X-Voice-Id"] == "af_bella(0.8)+af_sky(0.2)"  # af_bella given twice
    equal = await speak(client, "af_sky(0.5)+af_bella(1)", user)
    assert equal.headers["X-Cache"] == "HIT" and equal.content == mix.content


@pytest.mark.parametrize(
    ("voice", "status", "code", "detail"),
    [
        ("af_bella+af_nobody", 404, "not_found", {"component": "af_nobody"}),
        ("af_bella(x)+af_sky", 422, "invalid_voice_mix", {"weight": "x"}),
        ("af_bella(-1)+af_sky", 422, "invalid_voice_mix", {"component": "af_bella"}),
        ("af_bella++af_sky", 422, "invalid_voice_mix", {"component": ""}),
        (f"af_bella+{PIPER}", 422, "invalid_voice_mix", {"component": PIPER}),
    ],
)
async def test_bad_mixes_name_what_is_wrong(client, user, voice, status, code, detail) -> None:
    for r in (
        await speak(client, voice, user),
        await client.post(
            "/v1/audio/speech", json={"model": "tts-1", "voice": voice, "input": TEXT}, headers=user
        ),
    ):
        assert r.status_code == status, r.text
        body = r.json()
        assert body["error"] == code and detail.items() <= body["details"].items(), body


async def test_unknown_names_and_other_backends_are_refused(client, user) -> None:
    r = await speak(client, "nobody-at-all", user)
    assert r.status_code == 400 and r.json()["error"] == "invalid_id", r.text
    r = await client.post(
        "/v1/audio/speech", json={"model": "tts-1", "voice": "nobody", "input": TEXT}, headers=user
    )
    assert r.status_code == 404 and r.json()["error"] == "not_found", r.text
    r = await speak(client, "af_heart", user, model_id="piper")
    assert r.status_code == 400 and r.json()["details"]["backend"] == "piper", r.text


async def test_a_cloned_voice_named_like_a_stock_voice_wins(client, user) -> None:
    r = await client.post(
        "/v1/voices",
        data={"name": "alloy", "backend": "piper"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    spoken = await client.post(
        "/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": TEXT}, headers=user
    )
    assert spoken.headers["X-Voice-Id"] == r.json()["voice_id"]


# --- language="auto" and voice_settings ---------------------------------------------------------


async def test_auto_language_is_detected_from_the_text(client, user) -> None:
    spanish = "Hola, ¿cómo estás? Hoy hace muy buen tiempo en la ciudad."
    r = await client.post(
        "/v1/text-to-speech/af_heart",
        json={"text": spanish, "language_code": "auto"},
        headers=user,
    )
    assert r.status_code == 200, r.text
    english = await speak(client, "bf_emma", user, language_code="auto")
    assert english.status_code == 200, english.text
    items = (await client.get("/v1/history", headers=user)).json()["items"]
    langs = {item["voice_id"]: item["lang"] for item in items}
    assert langs == {"af_heart": "es", "bf_emma": "en-gb"}  # a voice's own English stays


async def test_stability_one_makes_piper_repeatable(client, user) -> None:
    settings = {"stability": 1.0}
    one = await speak(client, PIPER, user, voice_settings=settings, seed=1)
    two = await speak(client, PIPER, user, voice_settings=settings, seed=2)  # another cache key
    assert one.status_code == 200 and two.headers["X-Cache"] == "MISS", two.text
    assert one.content == two.content
    loose = await speak(client, PIPER, user, voice_settings={"stability": 0.0}, seed=3)
    assert loose.content != one.content
    bad = await speak(client, PIPER, user, voice_settings={"stability": 2})
    assert bad.status_code in (400, 422), bad.text


def test_the_websocket_speaks_in_a_stock_voice(settings, registry) -> None:
    services = build_services(settings, engines=registry)
    with TestClient(create_app(services=services)) as client:
        key = ws_key(client)
        with client.websocket_connect(f"/v1/text-to-speech/alloy/ws?api_key={key}") as ws:
            hello = started(ws)
            assert (hello["voice_id"], hello["backend"]) == ("af_alloy", "local"), hello
            ws.send_json({"text": "Hello from a stock voice. "})
            ws.send_json({"text": ""})
            pcm, texts, code = until_closed(ws)
    assert code == 1000 and texts[-1]["isFinal"] is True, texts
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    assert len(samples) / hello["sample_rate"] > 0.8 and rms(samples) > 0.01
