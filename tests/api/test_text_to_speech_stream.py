"""Streamed synthesis: POST /v1/text-to-speech/{voice_id}/stream and POST /v1/audio/speech with
``"stream": true``, with the fake engines (on both databases). Formats, the cache and the
errors go through the ASGI transport; what only a socket shows (bytes before the text is done,
a body cut short, a client that leaves) goes through uvicorn in a thread."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf
from sqlalchemy import delete

from tests.conftest import ADMIN_KEY, fake_registry, stream_speech, tone_wav
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.audio import decode_audio
from voxclone.audio.mp3 import tag_frame_length
from voxclone.config import Settings
from voxclone.core.errors import ProviderTimeout
from voxclone.core.types import Audio
from voxclone.db.tables import CacheEntry
from voxclone.engines.base import SynthesisParams, VoicePrompt
from voxclone.engines.fake import FakeEngine
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import Services, build_services

TEXT = "The first sentence is here. A second one follows. And a third to end."
SLOW_TEXT = "One is first. Two is next. Three is after. Four is last."
"""Four chunks; at 0.5 s each, 2 s in all."""
CHUNK_DELAY_S = 0.5


class TimingOutEngine(FakeEngine):
    """A remote engine whose provider never answers: ProviderTimeout before any audio."""

    def synthesize(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[Audio]:
        raise ProviderTimeout(f"backend {self.name!r} timed out", backend=self.name)


@pytest.fixture
def registry() -> EngineRegistry:
    here = "tests.api.test_text_to_speech_stream:TimingOutEngine"
    return EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
            EngineSpec(
                "fitter",
                "voxclone.engines.fake:FakeEngine",
                options={"fitting": True, "fit_delay_s": 2.0},
            ),
            EngineSpec("down", here),
            EngineSpec("flaky", here, fallback="fake"),
        ]
    )


async def add_voice(
    client: httpx.AsyncClient, user: dict[str, str], backend: str, name: str = "v"
) -> dict[str, object]:
    r = await client.post(
        "/v1/voices",
        data={"name": name, "backend": backend},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


async def stream(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str, fmt: str = "wav", **body: object
) -> httpx.Response:
    return await client.post(
        f"/v1/text-to-speech/{voice_id}/stream?output_format={fmt}",
        json={"text": TEXT, **body},
        headers=user,
    )


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body: dict[str, object] = r.json()
    assert body["error"] == code, body
    return body


def fake_seconds(text: str) -> float:
    """How long the fake engine speaks ``text`` when its chunks are sent unjoined."""
    chunks = FakeEngine("fake").synthesize(text, {}, SynthesisParams(language="en"))
    return sum(chunk.duration_s for chunk in chunks)


# --- formats --------------------------------------------------------------------------------------


async def test_wav_streams_with_unknown_sizes_and_decodes(client, user, voice_id) -> None:
    r = await stream(client, user, voice_id, "wav")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    assert r.headers["X-Voice-Id"] == voice_id
    assert r.headers["X-Backend"] == "fake"
    assert r.headers["X-Cache"] == "MISS"
    assert "X-Audio-Duration" not in r.headers and "X-Synthesis-Time-Ms" not in r.headers
    assert r.content[:4] == b"RIFF" and r.content[4:8] == b"\xff\xff\xff\xff"
    assert r.content[36:44] == b"data\xff\xff\xff\xff"
    samples, rate = sf.read(io.BytesIO(r.content), dtype="float32")
    assert rate == 16000
    assert len(samples) / rate == pytest.approx(fake_seconds(TEXT), abs=0.01)
    decoded = decode_audio(r.content)  # the 0xFFFFFFFF data size means "to the end"
    assert np.array_equal(decoded.audio.samples, samples)


async def test_mp3_is_plain_frames_that_decode(client, user, voice_id) -> None:
    r = await stream(client, user, voice_id, "mp3_44100_128")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/mpeg"
    assert tag_frame_length(r.content) == 0  # no Xing/Info frame: the stream starts with audio
    assert (
        b"Xing" not in r.content and b"Info" not in r.content and not r.content.startswith(b"ID3")
    )
    decoded = decode_audio(r.content)
    samples, rate = sf.read(io.BytesIO(r.content), dtype="float32")
    assert decoded.format == "mp3" and decoded.sample_rate == rate == 44100
    assert len(samples) == decoded.audio.samples.size
    # The encoder's delay and padding (no tag to tell decoders to cut them) add ~0.1 s, once.
    assert 0 <= decoded.audio.duration_s - fake_seconds(TEXT) < 0.15
    assert float(np.sqrt(np.mean(np.square(samples)))) > 0.05  # the tones, not silence


@pytest.mark.parametrize(("fmt", "rate"), [("pcm_24000", 24000), ("pcm", 16000)])
async def test_pcm_is_raw_samples_at_the_rate_asked(client, user, voice_id, fmt, rate) -> None:
    r = await stream(client, user, voice_id, fmt)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    assert len(r.content) % 2 == 0
    samples = np.frombuffer(r.content, dtype="<i2")
    assert len(samples) / rate == pytest.approx(fake_seconds(TEXT), abs=0.01)
    assert np.abs(samples).max() > 0.2 * 32768


@pytest.mark.parametrize("fmt", ["flac", "ogg", "opus"])
async def test_formats_that_cannot_stream_are_422_naming_those_that_can(
    client, user, voice_id, fmt
) -> None:
    r = await stream(client, user, voice_id, fmt)
    body = assert_error(r, 422, "unsupported_format")
    assert body["details"] == {"format": fmt, "supported": ["mp3", "wav", "pcm"]}
    assert "mp3, wav, pcm" in str(body["message"])


# --- the cache ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["wav", "mp3_22050_32", "pcm_16000"])
async def test_a_stream_fills_the_cache_as_synchronous_synthesis_would(
    client, user, voice_id, services: Services, fmt
) -> None:
    first = await stream(client, user, voice_id, fmt)
    assert first.status_code == 200 and first.headers["X-Cache"] == "MISS"
    again = await stream(client, user, voice_id, fmt)
    assert again.status_code == 200 and again.headers["X-Cache"] == "HIT"
    assert float(again.headers["X-Audio-Duration"]) > 0  # known for a hit
    sync = await client.post(
        f"/v1/text-to-speech/{voice_id}?output_format={fmt}", json={"text": TEXT}, headers=user
    )
    assert sync.headers["X-Cache"] == "HIT"  # one cache key for both
    assert again.content == sync.content
    # What the stream stored is what synchronous synthesis makes of the same request.
    async with services.sessions() as session:
        await session.execute(delete(CacheEntry))
        await session.commit()
    fresh = await client.post(
        f"/v1/text-to-speech/{voice_id}?output_format={fmt}", json={"text": TEXT}, headers=user
    )
    assert fresh.headers["X-Cache"] == "MISS"
    assert fresh.content == sync.content
    assert fresh.headers["X-Audio-Duration"] == again.headers["X-Audio-Duration"]


# --- errors before the first audio ----------------------------------------------------------------


async def test_a_voice_still_fitting_is_409(client, user) -> None:
    voice = await add_voice(client, user, "fitter")
    assert voice["status"] == "fitting"
    r = await stream(client, user, str(voice["voice_id"]))
    body = assert_error(r, 409, "conflict")
    assert "still being fitted" in str(body["message"])


async def test_unknown_and_other_keys_voices_are_404(client, user, new_key, voice_id) -> None:
    bob = await new_key("bob")
    bob.pop("_key_id")
    assert_error(await stream(client, bob, voice_id), 404, "not_found")
    assert_error(
        await stream(client, user, "00000000-0000-4000-8000-000000000000"), 404, "not_found"
    )
    r = await client.post(
        "/v1/audio/speech",
        json={"model": "tts-1", "voice": voice_id, "input": TEXT, "stream": True},
        headers=bob,
    )
    assert_error(r, 404, "not_found")


async def test_an_engine_error_before_any_audio_is_a_json_error(client, user, voice_id) -> None:
    r = await stream(client, user, voice_id, text="This will FAIL. Then more.")
    body = assert_error(r, 500, "engine_error")
    assert "fake" in str(body["message"])


async def test_a_provider_timeout_before_any_audio_is_504(client, user) -> None:
    voice = await add_voice(client, user, "down")
    r = await stream(client, user, str(voice["voice_id"]))
    assert_error(r, 504, "provider_timeout")


async def test_the_fallback_serves_when_the_engine_is_down(client, user) -> None:
    voice = await add_voice(client, user, "flaky")
    r = await stream(client, user, str(voice["voice_id"]))
    assert r.status_code == 200, r.text
    assert r.headers["X-Backend"] == "fake"
    assert sf.info(io.BytesIO(r.content)).frames > 0


# --- POST /v1/audio/speech with "stream": true ----------------------------------------------------


async def test_openai_speech_streams_when_asked(client, user, voice_id) -> None:
    body = {"model": "tts-1", "voice": voice_id, "input": TEXT}
    r = await client.post("/v1/audio/speech", json={**body, "stream": True}, headers=user)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/mpeg"
    assert r.headers["X-Cache"] == "MISS" and "X-Audio-Duration" not in r.headers
    assert tag_frame_length(r.content) == 0
    assert decode_audio(r.content).audio.duration_s == pytest.approx(fake_seconds(TEXT), abs=0.15)
    whole = await client.post("/v1/audio/speech", json={**body, "stream": False}, headers=user)
    assert whole.headers["X-Cache"] == "HIT" and "X-Audio-Duration" in whole.headers
    pcm = await client.post(
        "/v1/audio/speech", json={**body, "stream": True, "response_format": "pcm"}, headers=user
    )
    samples = np.frombuffer(pcm.content, dtype="<i2")
    assert len(samples) / 24000 == pytest.approx(fake_seconds(TEXT), abs=0.01)  # 24 kHz
    opus = await client.post(
        "/v1/audio/speech", json={**body, "stream": True, "response_format": "opus"}, headers=user
    )
    assert_error(opus, 422, "unsupported_format")


# --- over a socket --------------------------------------------------------------------------------


@dataclass
class Served:
    url: str
    headers: dict[str, str]
    voice_id: str
    engine: FakeEngine
    data_dir: Path

    def cached_files(self) -> list[Path]:
        return list((self.data_dir / "blobs" / "voices" / self.voice_id).glob("cache/*"))


@pytest.fixture
def slow_server(settings: Settings) -> Iterator[Served]:
    """uvicorn in a thread, serving a fake engine that takes 0.5 s per sentence."""
    services = build_services(settings, engines=fake_registry(delay_s=CHUNK_DELAY_S))
    with ThreadServer(create_app(services=services)) as url:
        r = httpx.post(f"{url}/v1/keys", json={}, headers={"X-API-Key": ADMIN_KEY})
        headers = {"Authorization": f"Bearer {r.json()['api_key']}"}
        r = httpx.post(
            f"{url}/v1/voices",
            data={"name": "slow"},
            files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        engine = services.engines.get_tts("fake")
        assert isinstance(engine, FakeEngine)
        yield Served(url, headers, r.json()["voice_id"], engine, settings.data_dir)


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Log records of the app and of uvicorn (whose loggers do not propagate)."""
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="voxclone")
    try:
        yield caplog
    finally:
        uvicorn_error.removeHandler(caplog.handler)


def test_the_first_bytes_come_before_the_text_is_done(slow_server: Served) -> None:
    url = f"{slow_server.url}/v1/text-to-speech/{slow_server.voice_id}/stream"
    arrivals: list[float] = []
    started = time.perf_counter()
    with httpx.stream(
        "POST", url, json={"text": SLOW_TEXT}, headers=slow_server.headers, timeout=30
    ) as r:
        assert r.status_code == 200
        pieces = []
        for piece in r.iter_raw():
            arrivals.append(time.perf_counter() - started)
            pieces.append(piece)
    # The engine takes 0.5 s per sentence, four sentences: streamed, the first piece comes at
    # least two sentences' time before the last. Compared with each other, not with a clock
    # that a loaded host shifts (buffered, all pieces would come together at the end).
    assert arrivals[-1] - arrivals[0] > 1.0, arrivals
    assert len(pieces) >= 3, arrivals
    samples, _ = sf.read(io.BytesIO(b"".join(pieces)))
    assert len(samples) / 16000 == pytest.approx(fake_seconds(SLOW_TEXT), abs=0.01)
    assert len(slow_server.cached_files()) == 1


def test_the_openai_sdk_gets_the_bytes_as_they_are_made(slow_server: Served) -> None:
    key = slow_server.headers["Authorization"].removeprefix("Bearer ")
    with openai.OpenAI(base_url=f"{slow_server.url}/v1", api_key=key, max_retries=0) as sdk:
        got = stream_speech(sdk, voice="slow", text=SLOW_TEXT)
    assert got.arrivals[-1] - got.arrivals[0] > 1.0, got.arrivals  # as above
    decoded = decode_audio(got.data).audio
    assert decoded.duration_s == pytest.approx(fake_seconds(SLOW_TEXT), abs=0.15)


def test_an_engine_error_after_the_first_audio_cuts_the_body_short(
    slow_server: Served, server_log: pytest.LogCaptureFixture
) -> None:
    url = f"{slow_server.url}/v1/text-to-speech/{slow_server.voice_id}/stream"
    text = "One is first. Two is next. This will FAIL. Four is never."
    received = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("POST", url, json={"text": text}, headers=slow_server.headers) as r,
    ):
        assert r.status_code == 200  # the headers went out with the first sentence
        for piece in r.iter_raw():
            received += piece
    samples, _ = sf.read(io.BytesIO(received))
    assert len(samples) / 16000 == pytest.approx(
        fake_seconds("One is first. Two is next."), abs=0.01
    )
    assert slow_server.cached_files() == []
    broke = [r for r in server_log.records if "broke off after 2 chunk(s)" in r.getMessage()]
    assert broke and broke[0].levelno == logging.ERROR and "FAIL" in broke[0].getMessage()


def test_a_client_that_leaves_stops_the_engine(
    slow_server: Served, server_log: pytest.LogCaptureFixture
) -> None:
    url = f"{slow_server.url}/v1/text-to-speech/{slow_server.voice_id}/stream"
    text = " ".join(f"Sentence number {n}." for n in range(10))  # 5 s of work
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", url, json={"text": text}, headers=slow_server.headers) as r,
    ):
        assert r.status_code == 200
        next(r.iter_raw())  # the first sentence, then hang up
    time.sleep(3 * CHUNK_DELAY_S)
    made = slow_server.engine.chunks_made
    time.sleep(3 * CHUNK_DELAY_S)
    assert slow_server.engine.chunks_made == made <= 4  # of 10; the one in progress may finish
    assert slow_server.cached_files() == []
    assert [r.getMessage() for r in server_log.records if r.levelno >= logging.ERROR] == []
    assert any("the client went away" in r.getMessage() for r in server_log.records)
