"""The ``openai`` engines (speech and transcription) against a stand-in of the OpenAI audio API
(what speaches, Kokoro-FastAPI and others serve) over real HTTP on loopback."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import tone_wav
from tests.remote.conftest import TEST_POLICY, engine_entry
from tests.remote.standins import openai_app
from voxclone.core.errors import ProviderRejected
from voxclone.core.types import Audio
from voxclone.engines.remote.openai import OpenAITranscriber


@pytest.mark.parametrize("response_format", ["wav", "flac", "mp3", "pcm"])
async def test_speech(gateway, serve, response_format) -> None:
    app = openai_app(api_key="sk-test")
    url = serve(app)
    gw = await gateway(
        engine_entry(
            "kokoro",
            "openai",
            urls=[f"{url}/v1"],  # written with /v1, as those servers document their base URL
            api_key="sk-test",
            options={"model": "kokoro", "voice": "af_bella", "response_format": response_format},
        )
    )
    voice = await gw.voice("kokoro")
    r = await gw.say(voice, "A stock voice, not a clone.", voice_settings={"speed": 1.5})
    assert r.status_code == 200, r.text
    assert r.headers["X-Backend"] == "kokoro"
    assert app.state.requests[-1] == {
        "model": "kokoro",
        "input": "A stock voice, not a clone.",
        "voice": "af_bella",
        "response_format": response_format,
        "speed": 1.5,
    }
    samples, rate = sf.read(io.BytesIO(r.content), dtype="float32")
    assert rate == 24000
    expected = 0.05 * len("A stock voice, not a clone.") / 1.5
    assert len(samples) / rate == pytest.approx(expected, abs=0.1)
    assert float(np.max(np.abs(samples))) > 0.1


async def test_wrong_key_is_relayed_as_a_refusal(gateway, serve) -> None:
    url = serve(openai_app(api_key="sk-right"))
    gw = await gateway(engine_entry("oai", "openai", urls=[url], api_key="sk-wrong"))
    voice = await gw.voice("oai")
    r = await gw.say(voice, "Let me in.")
    assert r.status_code == 502, r.text
    assert r.json()["error"] == "provider_rejected"
    assert "Incorrect API key" in r.json()["message"]
    assert (await gw.engines(probe=True))["oai"]["available"] is False  # /v1/models says 401


def test_transcription(serve) -> None:
    app = openai_app(api_key="sk-test")
    url = serve(app)
    engine = OpenAITranscriber("whisper", urls=[url], api_key="sk-test", policy=TEST_POLICY)
    try:
        samples, rate = sf.read(io.BytesIO(tone_wav(seconds=4.0)), dtype="float32")
        result = engine.transcribe(Audio(samples, rate), language="en")
        assert result.text == "A tone of 4 seconds."
        assert result.language == "english"
        assert result.duration_s == pytest.approx(4.0)
        assert [(s.start_s, s.end_s, s.text) for s in result.segments] == [
            (0.0, 2.0, "A tone of"),
            (2.0, 4.0, "4 seconds."),
        ]
        assert app.state.requests[-1] == {
            "model": "whisper-1",
            "language": "en",
            "format": "verbose_json",
        }
        assert engine.health(force=True).available
    finally:
        engine.close()


def test_transcription_refused(serve) -> None:
    url = serve(openai_app(api_key="sk-test"))
    engine = OpenAITranscriber("whisper", urls=[url], api_key="nope", policy=TEST_POLICY)
    try:
        with pytest.raises(ProviderRejected, match="Incorrect API key"):
            engine.transcribe(Audio(np.full(16000, 0.1, dtype=np.float32), 16000))
    finally:
        engine.close()
