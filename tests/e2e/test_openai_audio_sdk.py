"""The rest of OpenAI's audio API through the official ``openai`` SDK, over real HTTP, with the
real engines: translations and streamed transcriptions on the packaged multilingual Whisper
base, verbose_json with word and segment timestamps, speech as server-sent events (Kokoro and
Piper stock voices), and ``GET /v1/audio/voices``. One server serves the whole module."""

from __future__ import annotations

import base64
import csv
import io
import json
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
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine

# The SDK marks audio.translations.create deprecated; the endpoint is what is tested.
translations_deprecated = pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")

SPANISH = "Hola, me llamo María y vivo en Madrid. Me gusta mucho el café."
ENGLISH = "The quick brown fox jumps over the lazy dog. It was a sunny day."


def words(text: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch == " " else " " for ch in text.lower())
    return " ".join(kept.split())


def clip(path: str) -> tuple[bytes, str]:
    """A real recording from the evaluation set and its transcript."""
    with (EVAL_SPEECH / "manifest.csv").open() as f:
        for row in csv.DictReader(f):
            if row["path"] == path:
                return (EVAL_SPEECH / path).read_bytes(), row["transcript"]
    raise AssertionError(f"{path} is not in the evaluation manifest")


def sse(body: bytes) -> list[dict[str, object]]:
    """The events of a server-sent event stream, each ``data: {json}`` and a blank line."""
    text = body.decode()
    assert text.endswith("\n\n"), text[-200:]
    events = []
    for block in text.strip("\n").split("\n\n"):
        assert block.startswith("data: "), block
        events.append(json.loads(block.removeprefix("data: ")))
    return events


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("openai-audio") / "data"
    settings = make_settings(
        data_dir,
        default_backend="local",
        default_stt_backend="whisper",
        whisper={"packaged_model": "base", "beam_size": 1},
    )
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    with ThreadServer(create_app(services=services)) as url:
        yield url


@pytest.fixture(scope="module")
def key(server: str) -> str:
    r = httpx.post(f"{server}/v1/keys", json={"label": "sdk"}, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


@pytest.fixture(scope="module")
def sdk(server: str, key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0, timeout=180) as client:
        yield client


@pytest.fixture(scope="module")
def spanish(sdk: openai.OpenAI) -> bytes:
    """Spanish speech from Kokoro's Spanish stock voice."""
    audio = sdk.audio.speech.create(
        model="local", voice="ef_dora", input=SPANISH, response_format="wav"
    )
    return audio.content


# --- translations -------------------------------------------------------------------------------


@translations_deprecated
def test_translation_turns_spanish_speech_into_english(sdk: openai.OpenAI, spanish: bytes) -> None:
    heard = sdk.audio.transcriptions.create(
        model="whisper-1", file=("es.wav", spanish), language="es"
    )
    assert "madrid" in words(heard.text) and "café" in heard.text.lower(), heard.text
    english = sdk.audio.translations.create(model="whisper-1", file=("es.wav", spanish))
    said = words(english.text)
    assert "madrid" in said and "coffee" in said, english.text
    assert "llamo" not in said and "gusta" not in said, english.text


@translations_deprecated
def test_translation_formats(sdk: openai.OpenAI, spanish: bytes) -> None:
    verbose = sdk.audio.translations.create(
        model="whisper-1", file=("es.wav", spanish), response_format="verbose_json"
    )
    assert verbose.language == "english" and verbose.duration > 2.0
    assert verbose.segments and "coffee" in words(verbose.text)
    srt = sdk.audio.translations.create(
        model="whisper-1", file=("es.wav", spanish), response_format="srt"
    )
    assert str(srt).startswith("1\n00:00:0") and "-->" in str(srt)
    text = sdk.audio.translations.create(
        model="whisper-1", file=("es.wav", spanish), response_format="text"
    )
    assert "coffee" in words(str(text))


@translations_deprecated
def test_translation_with_an_english_only_model_is_refused(tmp_path: Path, spanish: bytes) -> None:
    settings = make_settings(
        tmp_path / "data", default_stt_backend="whisper", whisper={"packaged_model": "tiny.en"}
    )
    whisper = [s for s in builtin_specs(settings) if s.name == "whisper"]
    services = build_services(settings, engines=EngineRegistry(whisper))
    with ThreadServer(create_app(services=services)) as url:
        made = httpx.post(f"{url}/v1/keys", json={"label": "en"}, headers={"X-API-Key": ADMIN_KEY})
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=made.json()["api_key"], max_retries=0)
        with client, pytest.raises(openai.UnprocessableEntityError) as refused:
            client.audio.translations.create(model="whisper-1", file=("es.wav", spanish))
    body = refused.value.response.json()
    assert body["error"] == "unsupported_language"
    assert "cannot translate" in body["message"] and "multilingual" in body["message"]


# --- transcriptions: timestamps and streaming ---------------------------------------------------


def test_verbose_json_with_word_and_segment_granularities(sdk: openai.OpenAI) -> None:
    audio, expected = clip("vctk/p225/p225_020.wav")
    both = sdk.audio.transcriptions.create(
        model="whisper-1",
        file=("a.wav", audio),
        language="en",
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert jiwer.wer(words(expected), words(both.text)) <= 0.25, both.text
    assert both.words and both.segments
    assert [w.word.lower().strip(",.") for w in both.words[:2]] == ["many", "complicated"]
    assert all(0 <= w.start <= w.end <= both.duration for w in both.words)
    assert all(a.start <= b.start for a, b in zip(both.words, both.words[1:], strict=False))
    only_words = sdk.audio.transcriptions.create(
        model="whisper-1",
        file=("a.wav", audio),
        language="en",
        response_format="verbose_json",
        timestamp_granularities=["word"],
    )
    assert only_words.words and only_words.segments is None


def test_streamed_transcription_events(sdk: openai.OpenAI) -> None:
    audio, expected = clip("librispeech_test-other/1688/1688-142285-0000.flac")
    events = list(
        sdk.audio.transcriptions.create(
            model="whisper-1", file=("a.flac", audio), language="en", stream=True
        )
    )
    deltas = [e for e in events if e.type == "transcript.text.delta"]
    assert deltas and events[-1].type == "transcript.text.done"
    done = events[-1]
    assert done.type == "transcript.text.done"
    assert "".join(d.delta for d in deltas) == done.text
    assert jiwer.wer(words(expected), words(done.text)) <= 0.35, done.text


def test_a_format_that_cannot_stream_is_refused(server: str, key: str) -> None:
    audio, _ = clip("vctk/p225/p225_020.wav")
    for fmt in ("srt", "vtt", "verbose_json"):
        r = httpx.post(
            f"{server}/v1/audio/transcriptions",
            files={"file": ("a.wav", audio)},
            data={"stream": "true", "response_format": fmt},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_request" and r.json()["details"]["field"] == "stream"


def test_a_bad_granularity_raises_the_sdks_bad_request(sdk: openai.OpenAI) -> None:
    audio, _ = clip("vctk/p225/p225_020.wav")
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.audio.transcriptions.create(  # type: ignore[call-overload]
            model="whisper-1",
            file=("a.wav", audio),
            response_format="verbose_json",
            timestamp_granularities=["phoneme"],
        )
    assert "phoneme" in bad.value.response.json()["message"]


# --- speech as server-sent events ---------------------------------------------------------------


@pytest.mark.parametrize(("voice", "fmt"), [("alloy", "wav"), ("en_US-joe-medium", "flac")])
def test_speech_as_server_sent_events(sdk: openai.OpenAI, voice: str, fmt: str) -> None:
    with sdk.audio.speech.with_streaming_response.create(
        model="tts-1",
        voice=voice,
        input=ENGLISH,
        response_format=fmt,  # type: ignore[arg-type]
        stream_format="sse",
        instructions="Speak cheerfully.",
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response.read())
    deltas = [e for e in events if e["type"] == "speech.audio.delta"]
    assert deltas and events[-1]["type"] == "speech.audio.done"
    assert events[-1]["usage"] == {
        "input_tokens": len(ENGLISH),
        "output_tokens": 0,
        "total_tokens": len(ENGLISH),
    }
    data = b"".join(base64.b64decode(str(e["audio"])) for e in deltas)
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert 2.5 < len(samples) / rate < 9.0
    assert float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) > 0.01
    heard = sdk.audio.transcriptions.create(
        model="whisper-1", file=(f"s.{fmt}", data), language="en"
    )
    assert jiwer.wer(words(ENGLISH), words(heard.text)) <= 0.3, heard.text


def test_speech_sse_is_recorded_like_any_synthesis(server: str, key: str) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    before = httpx.get(f"{server}/v1/history", headers=auth).json()
    text = "Recorded through server sent events."
    r = httpx.post(
        f"{server}/v1/audio/speech",
        json={"model": "tts-1", "voice": "nova", "input": text, "stream_format": "sse"},
        headers=auth,
        timeout=120,
    )
    assert r.status_code == 200 and sse(r.content)[-1]["type"] == "speech.audio.done"
    after = httpx.get(f"{server}/v1/history", headers=auth).json()
    assert len(after["items"]) == len(before["items"]) + 1
    assert after["items"][0]["text"] == text


def test_bad_stream_format_is_a_clear_error(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as bad:
        sdk.audio.speech.create(
            model="tts-1",
            voice="alloy",
            input="Hello.",
            stream_format="websocket",  # type: ignore[arg-type]
        )
    assert bad.value.response.json()["error"] == "unsupported_format"


# --- voices -------------------------------------------------------------------------------------


def test_audio_voices_lists_own_openai_and_stock_voices(server: str, key: str) -> None:
    r = httpx.get(f"{server}/v1/audio/voices", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    voices = r.json()["voices"]
    by_id = {v["id"]: v for v in voices}
    assert by_id["alloy"]["category"] == "openai" and by_id["alloy"]["stock_voice"] == "af_alloy"
    assert by_id["af_heart"]["category"] == "stock" and by_id["af_heart"]["backend"] == "local"
    assert by_id["en_US-joe-medium"]["backend"] == "piper"
    assert all(isinstance(v["name"], str) and v["name"] for v in voices)
    assert httpx.get(f"{server}/v1/audio/voices").status_code == 401
