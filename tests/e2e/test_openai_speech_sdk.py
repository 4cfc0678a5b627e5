"""OpenAI's speech API with the real Piper engine, over real HTTP, through the official OpenAI
SDK: speech in a cloned voice named by its name, listened to by the real Whisper model. One
server (uvicorn in a thread) serves the whole module."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import jiwer
import numpy as np
import openai
import pytest
import soundfile as sf

from tests.conftest import ADMIN_KEY, make_settings, stream_speech
from tests.e2e.test_piper_end_to_end import reference_clip
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.audio import decode_audio
from voxclone.audio.mp3 import tag_frame_length
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine

TEXT = "The quick brown fox jumps over the lazy dog. It was a sunny day."
"""About thirteen words: three to eight seconds of speech."""


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def words(text: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch == " " else " " for ch in text.lower())
    return " ".join(kept.split())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("openai-speech") / "data"
    settings = make_settings(data_dir, default_backend="piper", default_stt_backend="whisper")
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    with ThreadServer(create_app(services=services)) as url:
        yield url


@pytest.fixture(scope="module")
def key(server: str) -> str:
    r = httpx.post(f"{server}/v1/keys", json={"label": "sdk"}, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


@pytest.fixture(scope="module")
def voice_id(server: str, key: str) -> str:
    """A Piper voice called "narrator", from a real recording."""
    clip = reference_clip()
    r = httpx.post(
        f"{server}/v1/voices",
        data={"name": "narrator", "lang": "en", "backend": "piper"},
        files={"ref_audio": (clip.name, clip.read_bytes(), "application/octet-stream")},
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["voice_id"])


@pytest.fixture(scope="module")
def sdk(server: str, key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0, timeout=120) as client:
        yield client


def test_speech_by_voice_name_is_real_speech(sdk: openai.OpenAI, voice_id: str) -> None:
    audio = sdk.audio.speech.create(
        model="tts-1", voice="narrator", input=TEXT, response_format="wav"
    )
    headers = audio.response.headers
    assert headers["content-type"] == "audio/wav"
    assert headers["X-Voice-Id"] == voice_id
    assert headers["X-Backend"] == "piper"
    samples, rate = sf.read(io.BytesIO(audio.content), dtype="float32")
    assert rate == 22050
    seconds = len(samples) / rate
    assert 2.5 < seconds < 8.0, seconds
    assert seconds == pytest.approx(float(headers["X-Audio-Duration"]), abs=0.01)
    assert rms(samples) > 0.01  # speech, not silence
    # Whisper hears the words: it is speech, and it says the input.
    heard = sdk.audio.transcriptions.create(
        model="whisper-1", file=("speech.wav", audio.content), language="en"
    )
    assert jiwer.wer(words(TEXT), words(heard.text)) <= 0.25, heard.text


def test_models_list_the_openai_names_and_the_backends(sdk: openai.OpenAI) -> None:
    models = {m.id: m for m in sdk.models.list()}
    for name in ("tts-1", "tts-1-hd", "gpt-4o-mini-tts", "piper", "local", "whisper-1", "whisper"):
        assert name in models, sorted(models)
        assert models[name].object == "model" and models[name].owned_by == "voxclone"
    assert "deepfilternet" not in models and "resemblyzer" not in models
    assert sdk.models.retrieve("piper").id == "piper"
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("tts-9")


def test_streaming_response(sdk: openai.OpenAI, voice_id: str) -> None:
    with sdk.audio.speech.with_streaming_response.create(
        model="piper", voice=voice_id, input=TEXT, response_format="mp3", speed=1.25
    ) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        chunks = list(response.iter_bytes(chunk_size=4096))
    assert len(chunks) > 1
    decoded = decode_audio(b"".join(chunks)).audio
    assert 2.0 < decoded.duration_s < 6.5, decoded.duration_s
    assert rms(decoded.samples) > 0.01


def test_speech_streamed_as_it_is_synthesized(sdk: openai.OpenAI, voice_id: str) -> None:
    """Kokoro-FastAPI's ``"stream": true``: the mp3 comes a sentence at a time."""
    text = "Streaming starts right away. The second sentence follows. Then a third one."
    got = stream_speech(sdk, voice="narrator", text=text)
    assert got.headers["content-type"] == "audio/mpeg"
    assert got.headers["X-Voice-Id"] == voice_id
    assert got.headers["X-Cache"] == "MISS"
    assert "X-Audio-Duration" not in got.headers  # not known when the headers go out
    assert len(got.pieces) >= 2
    data = got.data
    assert tag_frame_length(data) == 0  # plain frames
    decoded = decode_audio(data)
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert decoded.sample_rate == rate == 22050
    assert len(samples) == decoded.audio.samples.size
    assert 3.0 < decoded.audio.duration_s < 10.0, decoded.audio.duration_s
    assert rms(decoded.audio.samples) > 0.01
    heard = sdk.audio.transcriptions.create(
        model="whisper-1", file=("speech.mp3", data), language="en"
    )
    assert jiwer.wer(words(text), words(heard.text)) <= 0.25, heard.text


def test_pcm_is_24khz(sdk: openai.OpenAI, voice_id: str) -> None:
    audio = sdk.audio.speech.create(
        model="tts-1-hd", voice={"id": voice_id}, input="Hello there.", response_format="pcm"
    )
    samples = np.frombuffer(audio.content, dtype="<i2")
    assert len(audio.content) == 2 * len(samples)
    duration = float(audio.response.headers["X-Audio-Duration"])
    assert len(samples) / 24000 == pytest.approx(duration, abs=0.01)  # Piper's 22.05 kHz resampled
    assert 0.4 < duration < 2.5
    assert rms(samples / 32768.0) > 0.01


def test_errors_are_sdk_exceptions(sdk: openai.OpenAI, voice_id: str) -> None:
    # The SDK keeps the "error" field (voxclone's code) as .body; the whole JSON error is on
    # .response.
    with pytest.raises(openai.NotFoundError) as not_found:
        sdk.audio.speech.create(model="tts-1", voice="nobody", input=TEXT)
    assert not_found.value.body == "not_found"
    assert "nobody" in not_found.value.response.json()["message"]
    with pytest.raises(openai.UnprocessableEntityError) as aac:
        sdk.audio.speech.create(model="tts-1", voice="narrator", input=TEXT, response_format="aac")
    details = aac.value.response.json()["details"]
    assert details["supported"] == ["mp3", "opus", "flac", "wav", "pcm"]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=str(sdk.base_url), api_key="vx_wrong", max_retries=0).with_options(
            timeout=30
        ).audio.speech.create(model="tts-1", voice="narrator", input=TEXT)
