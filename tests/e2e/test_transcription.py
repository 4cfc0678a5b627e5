"""Speech to text with the real Whisper tiny.en model, over real HTTP, and through the official
OpenAI SDK. One server (uvicorn in a thread) and one loaded model serve the whole module."""

from __future__ import annotations

import csv
import io
import re
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jiwer
import numpy as np
import openai
import pytest
import soundfile as sf

from tests.conftest import ADMIN_KEY, EVAL_SPEECH, make_settings
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine

MAX_UPLOAD = 2 * 1024 * 1024
WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)  # fmt: skip
NUMBERS = dict(enumerate(WORDS))


def normalize(text: str) -> str:
    text = re.sub(r"\d+", lambda m: NUMBERS.get(int(m.group()), m.group()), text.lower())
    kept = "".join(ch if ch.isalnum() or ch in " '" else " " for ch in text.replace("-", " "))
    return " ".join(kept.replace("'", "").split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalize(reference), normalize(hypothesis)))


def clip(path: str) -> tuple[bytes, str]:
    """A real recording from the evaluation set and its transcript."""
    with (EVAL_SPEECH / "manifest.csv").open() as f:
        for row in csv.DictReader(f):
            if row["path"] == path:
                return (EVAL_SPEECH / path).read_bytes(), row["transcript"]
    raise AssertionError(f"{path} is not in the evaluation manifest")


def wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples.astype(np.float32), rate, format="WAV")
    return buf.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("stt") / "data"
    settings = make_settings(
        data_dir,
        limits={"max_speech_upload_bytes": MAX_UPLOAD},
        default_stt_backend="whisper",
        whisper={"packaged_model": "tiny.en"},  # the English-only model's behaviour
    )
    whisper = [s for s in builtin_specs(settings) if s.name == "whisper"]
    registry = EngineRegistry([EngineSpec("fake", "voxclone.engines.fake:FakeEngine"), *whisper])
    services = build_services(settings, engines=registry)
    registry.get_stt("whisper")  # load once, before the clock of any test starts
    with ThreadServer(create_app(services=services)) as url:
        yield url


@pytest.fixture(scope="module")
def key(server: str) -> str:
    r = httpx.post(f"{server}/v1/keys", json={"label": "stt"}, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


@pytest.fixture(scope="module")
def sdk(server: str, key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0, timeout=60) as client:
        yield client


def post(server: str, key: str, path: str, files: dict, **data: object) -> httpx.Response:
    return httpx.post(
        f"{server}{path}",
        files=files,
        data=data,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


# --- the OpenAI SDK -----------------------------------------------------------------------------


def test_sdk_json_and_text(sdk: openai.OpenAI) -> None:
    audio, expected = clip("vctk/p225/p225_020.wav")
    result = sdk.audio.transcriptions.create(model="whisper-1", file=("a.wav", audio))
    assert wer(expected, result.text) <= 0.2, result.text
    text = sdk.audio.transcriptions.create(
        model="whisper", file=("a.wav", audio), response_format="text"
    )
    assert isinstance(text, str) and wer(expected, text) <= 0.2, text


def test_sdk_srt_and_vtt(sdk: openai.OpenAI) -> None:
    audio, expected = clip("vctk/p225/p225_020.wav")
    srt = sdk.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", audio), response_format="srt"
    )
    cues = srt.strip().split("\n\n")
    assert cues[0].startswith("1\n00:00:0")
    assert re.fullmatch(r"\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n.+", cues[0])
    spoken = " ".join(c.split("\n", 2)[2] for c in cues)
    assert wer(expected, spoken) <= 0.2, srt
    vtt = sdk.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", audio), response_format="vtt"
    )
    assert vtt.startswith("WEBVTT\n\n")
    assert re.search(r"\n\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n", vtt), vtt


def test_sdk_verbose_json_with_words(sdk: openai.OpenAI) -> None:
    audio, expected = clip("vctk/p225/p225_020.wav")
    result = sdk.audio.transcriptions.create(
        model="whisper-1",
        file=("a.wav", audio),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="en",
        temperature=0.0,
    )
    assert result.language == "english"
    assert result.duration == pytest.approx(5.24, abs=0.01)
    assert wer(expected, result.text) <= 0.2
    assert result.segments and result.segments[0].id == 0
    assert result.segments[0].tokens and result.segments[0].avg_logprob < 0
    assert result.words is not None
    assert [w.word.lower().strip(",.") for w in result.words[:3]] == [
        "many",
        "complicated",
        "ideas",
    ]
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and 0 <= starts[0] < result.words[-1].end <= 5.3


def test_sdk_wrong_key_and_unknown_model(server: str, sdk: openai.OpenAI) -> None:
    audio, _ = clip("cmu_arctic/aew/arctic_a0003.wav")
    with (
        openai.OpenAI(base_url=f"{server}/v1", api_key="vx_wrong", max_retries=0) as stranger,
        pytest.raises(openai.AuthenticationError) as denied,
    ):
        stranger.audio.transcriptions.create(model="whisper-1", file=("a.wav", audio))
    assert denied.value.status_code == 401
    with pytest.raises(openai.BadRequestError) as unknown:
        sdk.audio.transcriptions.create(model="gpt-9-transcribe", file=("a.wav", audio))
    assert unknown.value.status_code == 400
    assert unknown.value.body == "unknown_model"  # the SDK unwraps the "error" field


# --- plain HTTP ---------------------------------------------------------------------------------


def test_provider_shape_transcribe(server: str, key: str) -> None:
    audio, expected = clip("vctk/p226/p226_016.wav")
    r = post(server, key, "/v1/transcribe", {"audio": ("x.bin", audio)}, language="en")
    assert r.status_code == 200, r.text
    body = r.json()
    assert wer(expected, body["text"]) <= 0.2, body["text"]
    assert body["language"] == "en" and body["duration"] == pytest.approx(6.69, abs=0.01)
    assert body["segments"][0]["start"] >= 0 and body["segments"][-1]["end"] <= 6.8
    assert r.headers["X-Backend"] == "whisper"


def test_english_only_model_refuses_another_language(server: str, key: str) -> None:
    audio, _ = clip("cmu_arctic/aew/arctic_a0003.wav")
    r = post(server, key, "/v1/audio/transcriptions", {"file": ("a.wav", audio)}, language="de")
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "unsupported_language"
    assert "English-only" in r.json()["message"]


def test_prompt_is_accepted(server: str, key: str) -> None:
    audio, expected = clip("cmu_arctic/aew/arctic_a0003.wav")
    r = post(
        server,
        key,
        "/v1/audio/transcriptions",
        {"file": ("a.wav", audio)},
        prompt="Two men shook hands.",
        model="whisper-1",
    )
    assert r.status_code == 200, r.text
    assert wer(expected, r.json()["text"]) <= 0.2


def test_silence_is_an_empty_transcript(server: str, key: str) -> None:
    silence = wav(np.zeros(3 * 16000))
    r = post(server, key, "/v1/audio/transcriptions", {"file": ("s.wav", silence)})
    assert r.status_code == 200, r.text
    assert r.json() == {"text": ""}
    r = post(
        server, key, "/v1/audio/transcriptions", {"file": ("s.wav", silence)}, response_format="srt"
    )
    assert r.status_code == 200 and r.text == ""


def test_white_noise_is_not_an_error(server: str, key: str) -> None:
    noise = wav(0.3 * np.random.default_rng(1).standard_normal(3 * 16000))
    r = post(
        server,
        key,
        "/v1/audio/transcriptions",
        {"file": ("n.wav", noise)},
        response_format="verbose_json",
    )
    assert r.status_code == 200, r.text
    assert isinstance(r.json()["text"], str) and r.json()["duration"] == 3.0


def test_too_short_clip_is_422(server: str, key: str) -> None:
    audio, _ = clip("cmu_arctic/aew/arctic_a0003.wav")
    samples, rate = sf.read(io.BytesIO(audio), dtype="float32")
    r = post(server, key, "/v1/transcribe", {"audio": ("s.wav", wav(samples[: rate // 5], rate))})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "audio_duration_out_of_range"
    assert r.json()["details"]["min_s"] == 0.3


def test_two_hour_file_is_refused_quickly(server: str, key: str) -> None:
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", 8000, 1, format="FLAC") as f:
        for _ in range(120):  # two hours of near-silence, one minute at a time
            f.write(np.full(8000 * 60, 1e-4, dtype=np.float32))
    data = buf.getvalue()
    assert len(data) < MAX_UPLOAD
    started = time.perf_counter()
    r = post(server, key, "/v1/audio/transcriptions", {"file": ("long.flac", data)})
    assert time.perf_counter() - started < 2.0
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "audio_duration_out_of_range"
    assert r.json()["details"] == {"duration_s": 7200.0, "max_s": 3600.0}


def test_header_claiming_two_hours_is_refused(server: str, key: str) -> None:
    frames = 2 * 3600 * 16000
    header = b"RIFF" + struct.pack("<I", 36 + 2 * frames) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    header += b"data" + struct.pack("<I", 2 * frames)
    r = post(server, key, "/v1/transcribe", {"audio": ("h.wav", header + b"\0" * 32000)})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_audio"


def test_upload_over_the_byte_limit_is_refused(server: str, key: str) -> None:
    big = wav(np.zeros(MAX_UPLOAD // 2 + 16000))  # 16-bit: just over MAX_UPLOAD bytes
    r = post(server, key, "/v1/audio/transcriptions", {"file": ("big.wav", big)})
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "audio_too_large"
    assert r.json()["details"]["max_bytes"] == MAX_UPLOAD


@pytest.mark.parametrize(
    ("files", "data", "status", "error"),
    [
        ({"file": ("g.wav", b"\x13\x37garbage" * 500)}, {}, 422, "invalid_audio"),
        ({"file": ("e.wav", b"")}, {}, 422, "invalid_audio"),
        ({"other": ("a.wav", b"x")}, {}, 400, "missing_field"),
        ({"file": ("a.wav", b"x")}, {"response_format": "xml"}, 400, "invalid_request"),
        ({"file": ("a.wav", b"x")}, {"temperature": "hot"}, 400, "invalid_request"),
        ({"file": ("a.wav", b"x")}, {"model": "local"}, 400, "unknown_model"),
        (
            {"file": ("a.wav", b"x")},
            {"timestamp_granularities[]": "phoneme"},
            400,
            "invalid_request",
        ),
    ],
)
def test_bad_requests(server: str, key: str, files, data, status: int, error: str) -> None:
    r = post(server, key, "/v1/audio/transcriptions", files, **data)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error


def test_no_key_is_401(server: str) -> None:
    audio, _ = clip("cmu_arctic/aew/arctic_a0003.wav")
    for path, field in [("/v1/audio/transcriptions", "file"), ("/v1/transcribe", "audio")]:
        r = httpx.post(f"{server}{path}", files={field: ("a.wav", audio)})
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"


# --- voices get their transcript ----------------------------------------------------------------


def test_voice_without_ref_text_is_transcribed(server: str, key: str) -> None:
    audio, expected = clip("vctk/p225/p225_011.wav")
    r = post(
        server, key, "/v1/voices", {"ref_audio": ("r.wav", audio)}, name="auto", backend="fake"
    )
    assert r.status_code == 201, r.text
    voice = r.json()
    assert voice["ref_text_auto"] is True
    assert wer(expected, voice["ref_text"]) <= 0.2, voice["ref_text"]

    given = post(
        server,
        key,
        "/v1/voices",
        {"ref_audio": ("r.wav", audio)},
        name="given",
        backend="fake",
        ref_text="my own words",
    ).json()
    assert given["ref_text"] == "my own words" and given["ref_text_auto"] is False


def test_silent_reference_keeps_no_transcript(server: str, key: str) -> None:
    quiet = wav(0.001 * np.sin(np.arange(4 * 16000) * 0.05))
    r = post(server, key, "/v1/voices", {"ref_audio": ("q.wav", quiet)}, name="q", backend="fake")
    assert r.status_code == 201, r.text
    assert r.json()["ref_text"] is None and r.json()["ref_text_auto"] is False
