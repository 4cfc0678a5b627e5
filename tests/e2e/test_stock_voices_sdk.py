"""The official ``openai`` SDK asks for OpenAI's voice names (``alloy``...) with no voice of its
own: the built-in Kokoro engine speaks with the stock voice each maps to, over real HTTP, and
the real Whisper model hears the words."""

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

from tests.conftest import ADMIN_KEY, make_settings
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services
from voxclone.services.stock_voices import OPENAI_VOICES

pytestmark = pytest.mark.engine

TEXT = "The quick brown fox jumps over the lazy dog. It was a sunny day."


def words(text: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch == " " else " " for ch in text.lower())
    return " ".join(kept.split())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("stock-voices") / "data"
    settings = make_settings(data_dir, default_backend="local", default_stt_backend="whisper")
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    with ThreadServer(create_app(services=services)) as url:
        yield url


@pytest.fixture(scope="module")
def sdk(server: str) -> Iterator[openai.OpenAI]:
    r = httpx.post(f"{server}/v1/keys", json={"label": "sdk"}, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    key = str(r.json()["api_key"])
    with openai.OpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0, timeout=180) as client:
        yield client


def test_alloy_is_kokoro_speech_heard_by_whisper(sdk: openai.OpenAI) -> None:
    audio = sdk.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="wav")
    headers = audio.response.headers
    assert headers["X-Voice-Id"] == OPENAI_VOICES["alloy"] == "af_alloy"
    assert headers["X-Backend"] == "local"
    samples, rate = sf.read(io.BytesIO(audio.content), dtype="float32")
    assert rate == 24000 and 2.5 < len(samples) / rate < 9.0
    heard = sdk.audio.transcriptions.create(
        model="whisper-1", file=("speech.wav", audio.content), language="en"
    )
    assert jiwer.wer(words(TEXT), words(heard.text)) <= 0.25, heard.text


@pytest.mark.parametrize("voice", ["onyx", "shimmer", "af_bella(2)+af_sky(1)"])
def test_other_openai_names_and_mixes_speak(sdk: openai.OpenAI, voice: str) -> None:
    audio = sdk.audio.speech.create(
        model="tts-1", voice=voice, input="Hello there.", response_format="mp3"
    )
    assert audio.response.headers["content-type"] == "audio/mpeg"
    samples, _ = sf.read(io.BytesIO(audio.content), dtype="float32")
    assert float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) > 0.01


def test_an_unknown_voice_raises_the_sdks_not_found(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.audio.speech.create(model="tts-1", voice="nobody", input="Hello.")
    assert "nobody" in missing.value.response.json()["message"]
    with pytest.raises(openai.UnprocessableEntityError) as malformed:
        sdk.audio.speech.create(model="tts-1", voice="af_bella(x)+af_sky", input="Hello.")
    assert "weight" in malformed.value.response.json()["message"]
