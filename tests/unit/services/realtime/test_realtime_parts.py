"""The realtime session's parts on their own: the audio formats, the session configuration,
turn detection on a real recording (Silero VAD), the chat agent's server-sent events, and
the truncation of an answer."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import pytest
from tests.realtime_peers import RATE, ChatScript, silence, speech_clip

from voxclone.config import AgentSettings
from voxclone.core.errors import (
    EngineUnavailable,
    InvalidAudio,
    InvalidInput,
    ProviderError,
    UnsupportedFormat,
)
from voxclone.engines.vad import default_vad
from voxclone.services.realtime import audio as codec
from voxclone.services.realtime.agent import ChatAgent, Echo, Turn
from voxclone.services.realtime.config import SessionConfig, TurnDetection
from voxclone.services.realtime.items import Item
from voxclone.services.realtime.turns import (
    SpeechPaused,
    SpeechStarted,
    SpeechStopped,
    TurnDetector,
)


@pytest.mark.parametrize("fmt", codec.FORMATS)
def test_each_format_round_trips(fmt: str) -> None:
    tone = (0.5 * np.sin(np.arange(8000) * 2 * np.pi * 440 / codec.RATES[fmt])).astype(np.float32)
    back = codec.decode(codec.encode(tone, fmt), fmt)
    assert back.dtype == np.float32 and back.shape == tone.shape
    tolerance = 1e-4 if fmt == "pcm16" else 0.02  # G.711 keeps ~13 bits near zero, fewer loud
    assert np.abs(back - tone).max() < tolerance


def test_g711_matches_the_standard_tables() -> None:
    # ITU-T G.711: mu-law 0xFF and A-law 0xD5 are the smallest positive steps; 0x80 / 0xAA
    # the loudest positive codes
    assert codec.decode(base64.b64encode(bytes([0xFF])).decode(), "g711_ulaw")[0] == 0
    assert codec.decode(base64.b64encode(bytes([0x80])).decode(), "g711_ulaw")[0] == 32124 / 32768
    assert codec.decode(base64.b64encode(bytes([0xD5])).decode(), "g711_alaw")[0] == 8 / 32768
    assert codec.decode(base64.b64encode(bytes([0xAA])).decode(), "g711_alaw")[0] == 32256 / 32768


@pytest.mark.parametrize(("data", "fmt"), [("@@@", "pcm16"), ("AAAA", "pcm16")])
def test_garbage_audio_is_refused(data: str, fmt: str) -> None:
    with pytest.raises(InvalidAudio):
        codec.decode(data, fmt)


def test_an_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(UnsupportedFormat) as caught:
        codec.check_format("pcm16_16000", field="session.input_audio_format")
    assert caught.value.details["supported"] == ["pcm16", "g711_ulaw", "g711_alaw"]


def test_an_update_changes_only_what_it_names() -> None:
    config = SessionConfig(voice="alloy")
    updated = config.updated(
        {"turn_detection": {"type": "server_vad", "silence_duration_ms": 200}, "unknown": 1}
    )
    assert updated.turn_detection == TurnDetection(silence_duration_ms=200)
    assert updated.voice == "alloy" and updated.modalities == ("audio", "text")
    assert config.updated({"turn_detection": None}).turn_detection is None
    assert (
        config.updated({"max_response_output_tokens": 50}).as_dict()["max_response_output_tokens"]
        == 50
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"modalities": ["audio"]}, "session.modalities"),
        ({"turn_detection": {"type": "push_to_talk"}}, "session.turn_detection.type"),
        ({"turn_detection": {"prefix_padding_ms": -1}}, "session.turn_detection.prefix_padding_ms"),
        ({"input_audio_noise_reduction": {"type": "loud"}}, "session.input_audio_noise_reduction"),
        ({"temperature": "hot"}, "session.temperature"),
        ({"voice": ""}, "session.voice"),
        ({"max_response_output_tokens": 0}, "session.max_response_output_tokens"),
    ],
)
def test_a_bad_update_names_its_field(body: dict[str, object], param: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        SessionConfig(voice="alloy").updated(body)
    assert caught.value.details["param"] == param


def test_turn_detection_finds_a_spoken_turn_in_a_real_recording() -> None:
    clip = speech_clip()
    audio = np.concatenate([silence(0.5), clip, silence(1.0)])
    detector = TurnDetector(default_vad().stream(RATE), TurnDetection(silence_duration_ms=400))
    events = []
    for at in range(0, len(audio), RATE // 25):  # 40 ms pieces, as a microphone sends them
        events += detector.feed(audio[at : at + RATE // 25])
    kinds = [type(e) for e in events]
    assert kinds[0] is SpeechStarted and kinds[-1] is SpeechStopped
    assert SpeechPaused in kinds and kinds.count(SpeechStopped) == 1
    started, stopped = events[0], events[-1]
    assert isinstance(started, SpeechStarted) and isinstance(stopped, SpeechStopped)
    speech_ms = 500 + len(clip) * 1000 // RATE
    assert 450 <= started.start_ms <= 800
    assert speech_ms - 300 <= stopped.end_ms <= speech_ms + 300


def test_silence_and_noise_start_no_turn() -> None:
    detector = TurnDetector(default_vad().stream(RATE), TurnDetection())
    rng = np.random.default_rng(1)
    assert detector.feed(silence(2.0)) == []
    assert detector.feed((rng.standard_normal(RATE) * 0.003).astype(np.float32)) == []


async def test_echo_repeats_the_last_user_turn() -> None:
    turns = [Turn("user", "first"), Turn("assistant", "x"), Turn("user", " second ")]
    assert [
        p async for p in Echo().reply(turns, instructions="", temperature=1, max_tokens=None)
    ] == ["second"]


async def test_the_chat_agent_streams_the_reply_of_a_compatible_server() -> None:
    script = ChatScript(replies=["One. Two three."])
    transport = httpx.ASGITransport(app=script.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://llm") as client:
        agent = ChatAgent(
            AgentSettings(llm_url="http://llm/v1", model="m", system_prompt="Be kind."), client
        )
        pieces = [
            p
            async for p in agent.reply(
                [Turn("user", "hi")], instructions="Short.", temperature=0.5, max_tokens=900
            )
        ]
    assert "".join(pieces) == "One. Two three." and len(pieces) == 3
    body = script.requests[0]["body"]
    assert body["messages"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "system", "content": "Short."},
        {"role": "user", "content": "hi"},
    ]
    assert body["max_tokens"] == 400 and body["temperature"] == 0.5  # capped by the operator
    assert script.requests[0]["authorization"] is None


async def test_a_failing_chat_server_is_a_provider_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(500, text="boom"))
    async with httpx.AsyncClient(transport=transport) as client:
        agent = ChatAgent(AgentSettings(llm_url="http://llm/v1/chat/completions"), client)
        with pytest.raises(ProviderError) as caught:
            async for _ in agent.reply([], instructions="", temperature=1, max_tokens=None):
                pass
    assert "500" in caught.value.message


def test_no_chat_agent_without_a_url() -> None:
    with pytest.raises(EngineUnavailable):
        ChatAgent(AgentSettings(), httpx.AsyncClient())


def test_a_truncated_answer_keeps_the_sentences_heard() -> None:
    item = Item(id="i", role="assistant", content_type="audio", text="A. B. C.", audio_ms=3000)
    item.sentences = [(0, "A."), (1000, "B."), (2000, "C.")]
    item.truncate(1500)
    assert item.text == "A. B." and item.audio_ms == 1500
    assert item.as_dict()["content"] == [{"type": "audio", "transcript": "A. B."}]
