"""The LiveKit Agents plugin (voxclone.integrations.livekit) against a live server: uvicorn
on loopback, real Piper, real Whisper. No LiveKit server: the plugin classes are driven
directly, as an AgentSession drives them."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Iterator

import jiwer
import numpy as np
import pytest
import soundfile as sf
import soxr
from livekit import rtc
from livekit.agents import APIConnectOptions, APIStatusError, stt

from tests.conftest import ADMIN_KEY, EVAL_SPEECH, make_settings
from tests.e2e.test_piper_end_to_end import reference_clip
from tests.realtime_peers import CLIP_WORDS, RATE, silence, speech_clip
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.client import Client
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.integrations import livekit as voxclone_lk
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine

NO_RETRY = APIConnectOptions(max_retry=0)


def words(text: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch == " " else " " for ch in text.lower())
    return " ".join(kept.split())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("livekit") / "data"
    settings = make_settings(data_dir, default_backend="piper", default_stt_backend="whisper")
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    with ThreadServer(create_app(services=services), ws="websockets-sansio") as url:
        yield url


@pytest.fixture(scope="module")
def api_key(server: str) -> str:
    with Client(server, api_key=ADMIN_KEY) as admin:
        return admin.keys.create("livekit").api_key


@pytest.fixture(scope="module")
def voice_id(server: str, api_key: str) -> str:
    with Client(server, api_key=api_key) as vx:
        voice = vx.voices.create("agent", reference_clip(), backend="piper", lang="en")
        assert voice.status == "ready", voice
        return voice.voice_id


@pytest.fixture
async def tts(server: str, api_key: str, voice_id: str) -> AsyncIterator[voxclone_lk.TTS]:
    engine = voxclone_lk.TTS(base_url=server, api_key=api_key, voice=voice_id, sample_rate=16000)
    yield engine
    await engine.aclose()


def samples(frames: list[rtc.AudioFrame]) -> np.ndarray:
    data = b"".join(bytes(f.data) for f in frames)
    return np.frombuffer(data, dtype=np.int16).astype(np.float32) / 32768.0


def assert_speech(frames: list[rtc.AudioFrame], *, rate: int, min_s: float) -> None:
    assert frames
    assert {f.sample_rate for f in frames} == {rate}
    assert {f.num_channels for f in frames} == {1}
    audio = samples(frames)
    assert len(audio) / rate >= min_s
    assert float(np.sqrt(np.mean(np.square(audio)))) > 0.01  # not silence


async def test_synthesize_gives_frames_at_the_rate_asked(tts: voxclone_lk.TTS) -> None:
    frames = [ev.frame async for ev in tts.synthesize("Hello from a cloned voice.")]
    assert_speech(frames, rate=16000, min_s=0.8)


async def test_the_voice_may_be_named(server: str, api_key: str, voice_id: str) -> None:
    engine = voxclone_lk.TTS(base_url=server, api_key=api_key, voice="agent", sample_rate=24000)
    try:
        frames = [ev.frame async for ev in engine.synthesize("Named voices work too.")]
    finally:
        await engine.aclose()
    assert_speech(frames, rate=24000, min_s=0.8)


async def test_stream_speaks_text_pushed_in_pieces(tts: voxclone_lk.TTS) -> None:
    stream = tts.stream(conn_options=NO_RETRY)
    for piece in ["The quick brown ", "fox jumps over ", "the lazy dog. ", "It was a sunny day."]:
        stream.push_text(piece)
    stream.end_input()
    frames = [ev.frame async for ev in stream]
    await stream.aclose()
    assert_speech(frames, rate=16000, min_s=2.0)


async def test_flush_speaks_the_segment_before_the_input_ends(tts: voxclone_lk.TTS) -> None:
    """LiveKit 1.8 flushes at the end of the agent's turn: the audio must come without
    end_input (one segment per stream; text after the flush belongs to a new stream)."""
    stream = tts.stream(conn_options=NO_RETRY)
    stream.push_text("First sentence here. ")
    stream.push_text("And a second one.")
    stream.flush()
    first = await asyncio.wait_for(anext(stream), timeout=60)
    stream.end_input()
    events = [first] + [ev async for ev in stream]
    await stream.aclose()
    assert len({ev.segment_id for ev in events}) == 1
    assert_speech([ev.frame for ev in events], rate=16000, min_s=1.5)


def clip() -> tuple[str, str]:
    with (EVAL_SPEECH / "manifest.csv").open() as f:
        for row in csv.DictReader(f):
            if row["transcript"] and 4 <= float(row["duration_s"]) <= 10:
                return str(EVAL_SPEECH / row["path"]), row["transcript"]
    raise AssertionError("no 4–10 s transcribed clip in the evaluation manifest")


async def test_stt_recognizes_a_real_clip(server: str, api_key: str) -> None:
    path, transcript = clip()
    data, rate = sf.read(path, dtype="int16")
    frame = rtc.AudioFrame(
        data=data.tobytes(), sample_rate=rate, num_channels=1, samples_per_channel=len(data)
    )
    engine = voxclone_lk.STT(base_url=server, api_key=api_key, language="en")
    try:
        event = await engine.recognize([frame])
    finally:
        await engine.aclose()
    text = event.alternatives[0].text
    assert jiwer.wer(words(transcript), words(text)) < 0.35, text


async def test_a_wrong_key_is_an_api_status_error(server: str, voice_id: str) -> None:
    engine = voxclone_lk.TTS(base_url=server, api_key="vx_wrong", voice=voice_id)
    try:
        with pytest.raises(APIStatusError) as caught:
            async for _ in engine.synthesize("Hello.", conn_options=NO_RETRY):
                pass
        assert caught.value.status_code == 401
        assert not caught.value.retryable
        assert "key" in caught.value.message.lower()
        stream = engine.stream(conn_options=NO_RETRY)
        stream.push_text("Hello.")
        stream.end_input()
        with pytest.raises(APIStatusError) as ws_caught:
            async for _ in stream:
                pass
        assert ws_caught.value.status_code == 403
        assert "key" in ws_caught.value.message.lower()
    finally:
        await engine.aclose()
    stt_engine = voxclone_lk.STT(base_url=server, api_key="vx_wrong")
    frame = rtc.AudioFrame(
        data=b"\0\0" * 16000, sample_rate=16000, num_channels=1, samples_per_channel=16000
    )
    try:
        with pytest.raises(APIStatusError) as stt_caught:
            await stt_engine.recognize([frame], conn_options=NO_RETRY)
        assert stt_caught.value.status_code == 401
        stream = stt_engine.stream(conn_options=NO_RETRY)
        stream.push_frame(frame)
        stream.end_input()
        with pytest.raises(APIStatusError) as stream_caught:
            async for _ in stream:
                pass
        assert stream_caught.value.status_code == 403
        assert "key" in stream_caught.value.message.lower()
    finally:
        await stt_engine.aclose()


async def test_stt_stream_hears_each_turn_as_it_ends(server: str, api_key: str) -> None:
    """Two real sentences with a pause between them, pushed as 20 ms frames at 16 kHz: two
    turns, each START_OF_SPEECH, FINAL_TRANSCRIPT (its words), END_OF_SPEECH, in that order."""
    sentence = speech_clip()
    audio = np.concatenate([silence(0.5), sentence, silence(1.5), sentence, silence(1.0)])
    pcm = (soxr.resample(audio, RATE, 16000) * 32767).astype(np.int16)
    engine = voxclone_lk.STT(base_url=server, api_key=api_key, language="en", silence_ms=400)
    stream = engine.stream(conn_options=NO_RETRY)
    for at in range(0, len(pcm), 320):
        chunk = pcm[at : at + 320]
        stream.push_frame(
            rtc.AudioFrame(
                data=chunk.tobytes(),
                sample_rate=16000,
                num_channels=1,
                samples_per_channel=len(chunk),
            )
        )
    stream.end_input()
    events = []
    try:
        async with asyncio.timeout(120):
            async for event in stream:
                events.append(event)
    finally:
        await stream.aclose()
        await engine.aclose()
    kind = stt.SpeechEventType
    turns: dict[str, list[stt.SpeechEventType]] = {}
    for event in events:
        turns.setdefault(event.request_id, []).append(event.type)
        if event.type == kind.FINAL_TRANSCRIPT:
            text = event.alternatives[0].text
            assert jiwer.wer(words(CLIP_WORDS), words(text)) < 0.35, text
    expected = [kind.START_OF_SPEECH, kind.FINAL_TRANSCRIPT, kind.END_OF_SPEECH]
    assert list(turns.values()) == [expected, expected], turns
