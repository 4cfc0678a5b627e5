"""WS /v1/realtime against a live server (uvicorn on loopback) with real engines: Silero VAD
hears the turn, Whisper tiny.en transcribes it, Piper answers; a client written to OpenAI's
Realtime protocol drives it, and the answer's audio is transcribed back to check it is speech.
The LLM mode talks to a scripted OpenAI-compatible chat server on loopback."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from tests.conftest import ADMIN_KEY, make_settings
from tests.realtime_peers import (
    CLIP_WORDS,
    RATE,
    ChatScript,
    RealtimeClient,
    from_pcm16,
    pcm16,
    silence,
    speech_clip,
)
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.core.types import Audio
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import Services, build_services

pytestmark = pytest.mark.engine

PIPER = "en_US-joe-medium"
LONG_TEXT = (
    "This is the first sentence of a rather long answer. Here comes a second sentence, "
    "which goes on for a while. And a third one follows, so that there is plenty to cut. "
    "Finally a fourth sentence ends the answer."
)
REPLY = "Hello from the scripted model. It answers in two sentences."


@dataclass
class Live:
    url: str
    key: str
    services: Services

    def client(self, model: str = "echo") -> contextlib.AbstractContextManager[RealtimeClient]:
        return RealtimeClient.open(self.url, self.key, model=model)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def hear(services: Services, samples: np.ndarray) -> str:
    """What Whisper tiny.en hears in 24 kHz samples."""
    return services.engines.get_stt("whisper").transcribe(Audio(samples, RATE), "en").text


@pytest.fixture
def chat() -> Iterator[tuple[ChatScript, str]]:
    script = ChatScript(replies=[REPLY], pause_s=1.5)
    with ThreadServer(script.app()) as url:
        yield script, url


@pytest.fixture
def live(tmp_path: Path, chat: tuple[ChatScript, str]) -> Iterator[Live]:
    settings = make_settings(
        tmp_path,
        default_backend="piper",
        auto_transcribe_references=False,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        realtime={"default_voice": PIPER, "output_lead_ms": 300},
        agent={"llm_url": f"{chat[1]}/v1", "model": "scripted", "api_key": "sk-test"},
    )
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    with ThreadServer(create_app(services=services), ws="websockets-sansio") as url:
        r = httpx.post(
            f"{url}/v1/keys", json={"label": "rt"}, headers={"X-API-Key": ADMIN_KEY}, timeout=30
        )
        assert r.status_code == 201, r.text
        yield Live(url=url, key=r.json()["api_key"], services=services)


def test_a_spoken_turn_is_heard_and_echoed_in_a_piper_voice(live: Live) -> None:
    with live.client() as rt:
        created = rt.until("session.created")["session"]
        assert created["voice"] == PIPER and created["turn_detection"]["type"] == "server_vad"
        rt.send("session.update", session={"turn_detection": {"silence_duration_ms": 400}})
        assert (
            rt.until("session.updated")["session"]["turn_detection"]["silence_duration_ms"] == 400
        )
        rt.append(np.concatenate([silence(0.5), speech_clip(), silence(1.2)]), pace=4.0)
        started = rt.until("input_audio_buffer.speech_started")
        stopped = rt.until("input_audio_buffer.speech_stopped")
        assert 200 < started["audio_start_ms"] < 1000 < stopped["audio_end_ms"]
        committed = rt.until("input_audio_buffer.committed")
        heard = rt.until("conversation.item.input_audio_transcription.completed")
        assert heard["item_id"] == committed["item_id"] == started["item_id"]
        assert {"time", "evening", "men", "hands"} <= words(heard["transcript"])
        done = rt.until("response.done", timeout=180)
    assert done["response"]["status"] == "completed"
    kinds = [e["type"] for e in rt.events]
    for kind in (
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
        "response.audio_transcript.delta",
        "response.audio.done",
        "response.audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
    ):
        assert kind in kinds, kind
    answer = rt.of("response.audio_transcript.done")[0]["transcript"]
    assert words(answer) == words(heard["transcript"])  # echo: the same words back
    audio = from_pcm16([e["delta"] for e in rt.of("response.audio.delta")])
    assert 1.5 < len(audio) / RATE < 8
    assert len(words(hear(live.services, audio)) & words(CLIP_WORDS)) >= 4


def test_speech_during_an_answer_cuts_it_and_truncates_the_item(live: Live) -> None:
    with live.client() as rt:
        rt.until("session.created")
        rt.send(
            "conversation.item.create",
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": LONG_TEXT}],
            },
        )
        rt.send("response.create")
        item = rt.until("response.output_item.added")["item"]
        rt.until("response.audio.delta")
        rt.append(silence(0.6), pace=1.0)  # some of the answer plays
        onset = rt.append(speech_clip()[: RATE // 2], pace=1.0)  # the person starts talking
        done = rt.until("response.done")
        truncated = rt.until("conversation.item.truncated")
        after = len(rt.of("response.audio.delta"))
        rt.append(np.concatenate([speech_clip()[RATE // 2 :], silence(1.0)]), pace=4.0)
        rt.until("conversation.item.input_audio_transcription.completed")
        second = rt.until("response.done", timeout=180)
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert done["response"]["output"][0]["status"] == "incomplete"
    assert truncated["item_id"] == item["id"]
    sent_ms = sum(
        len(from_pcm16([e["delta"]])) * 1000 // RATE
        for e in rt.events[: rt.events.index(done)]
        if e["type"] == "response.audio.delta"
    )
    assert 300 < truncated["audio_end_ms"] <= sent_ms
    assert sent_ms < 4000  # far from the whole answer (about 12 s)
    stop_s = done["_at"] - onset
    assert stop_s < 2.0, stop_s  # speech onset -> the answer stops (loaded CI host)
    # no audio of the cut answer after its response.done; the next turn answers anew
    between = rt.events[rt.events.index(done) : rt.events.index(second)]
    first_new = next(e for e in between if e["type"] == "response.created")
    assert all(
        e["type"] != "response.audio.delta" or e["response_id"] == first_new["response"]["id"]
        for e in between
    )
    assert after >= 1 and second["response"]["status"] == "completed"


def test_a_text_turn_answers_in_text_only(live: Live) -> None:
    with live.client() as rt:
        rt.until("session.created")
        rt.send("session.update", session={"modalities": ["text"], "turn_detection": None})
        assert rt.until("session.updated")["session"]["turn_detection"] is None
        rt.send(
            "conversation.item.create",
            event_id="evt_1",
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Say this back."}],
            },
        )
        created = rt.until("conversation.item.created")
        rt.send("response.create")
        done = rt.until("response.done")
    assert created["item"]["content"] == [{"type": "input_text", "text": "Say this back."}]
    text = "".join(e["delta"] for e in rt.of("response.text.delta"))
    assert text == "Say this back." == rt.of("response.text.done")[0]["text"]
    assert not rt.of("response.audio.delta")
    assert done["response"]["output"][0]["content"] == [{"type": "text", "text": text}]


def test_the_language_model_answers_and_speech_starts_at_its_first_sentence(
    live: Live, chat: tuple[ChatScript, str]
) -> None:
    script, _ = chat
    with live.client(model="gpt-4o-realtime-preview") as rt:
        assert rt.until("session.created")["session"]["model"] == "gpt-4o-realtime-preview"
        rt.send("session.update", session={"instructions": "Be brief.", "turn_detection": None})
        rt.until("session.updated")
        rt.append(np.concatenate([silence(0.3), speech_clip(), silence(0.3)]))
        rt.send("input_audio_buffer.commit")
        rt.until("input_audio_buffer.committed")
        rt.send("response.create")
        first_audio = rt.until("response.audio.delta")
        done = rt.until("response.done", timeout=180)
    transcript = rt.of("response.audio_transcript.done")[0]["transcript"]
    assert transcript == REPLY
    last_text = rt.of("response.audio_transcript.delta")[-1]
    assert first_audio["_at"] < last_text["_at"]  # spoken before the model finished writing
    assert done["response"]["status"] == "completed"
    request = script.requests[0]
    assert request["authorization"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "scripted" and body["stream"] is True
    assert [m["role"] for m in body["messages"]] == ["system", "system", "user"]
    assert body["messages"][1]["content"] == "Be brief."
    assert {"evening", "hands"} <= words(body["messages"][2]["content"])
    audio = from_pcm16([e["delta"] for e in rt.of("response.audio.delta")])
    assert {"scripted", "model"} & words(hear(live.services, audio))


def test_denoised_input_is_heard_and_seconds_in_and_out_are_metered(live: Live) -> None:
    sent = np.concatenate([silence(0.3), speech_clip(), silence(1.0)])
    with live.client() as rt:
        rt.until("session.created")
        rt.send("session.update", session={"input_audio_noise_reduction": {"type": "near_field"}})
        assert rt.until("session.updated")["session"]["input_audio_noise_reduction"] == {
            "type": "near_field"
        }
        rt.append(sent, pace=4.0)
        heard = rt.until("conversation.item.input_audio_transcription.completed")
        rt.until("response.done", timeout=180)
    assert {"evening", "hands"} <= words(heard["transcript"])  # heard through DeepFilterNet
    spoken_s = len(from_pcm16([e["delta"] for e in rt.of("response.audio.delta")])) / RATE
    by_kind: dict[str, dict[str, float]] = {}
    deadline = time.monotonic() + 10
    while "stt" not in by_kind and time.monotonic() < deadline:  # metered as the socket closes
        time.sleep(0.1)
        r = httpx.get(
            f"{live.url}/v1/usage", params={"group_by": "kind"}, headers={"X-API-Key": live.key}
        )
        assert r.status_code == 200, r.text
        by_kind = {group["kind"]: group for group in r.json()["by_kind"]}
    assert by_kind["stt"]["audio_in_s"] == pytest.approx(len(sent) / RATE, abs=0.01)
    assert by_kind["tts"]["audio_out_s"] == pytest.approx(spoken_s, abs=0.05)
    assert by_kind["tts"]["characters"] > 20


def sdk_spoken_turn(live: Live, *, ga: bool) -> list[Any]:
    """A spoken turn through the official SDK's realtime client, GA (``client.realtime``: no
    beta header, nested session.audio, output_audio events) or beta; its events, checked for
    what both dialects share."""
    sdk = openai.OpenAI(
        api_key=live.key,
        base_url=f"{live.url}/v1",
        websocket_base_url=f"{live.url.replace('http', 'ws', 1)}/v1",
    )
    audio = np.concatenate([silence(0.3), speech_clip(), silence(0.3)])
    session: dict[str, Any] = (
        {
            "type": "realtime",
            "output_modalities": ["audio"],
            "audio": {"input": {"turn_detection": None}, "output": {"voice": PIPER}},
        }
        if ga
        else {"turn_detection": None, "voice": PIPER}
    )
    realtime: Any = sdk.realtime if ga else sdk.beta.realtime
    with realtime.connect(model="echo") as connection:
        connection.session.update(session=session)
        connection.input_audio_buffer.append(audio=pcm16(audio))
        connection.input_audio_buffer.commit()
        connection.response.create()
        events = []
        for event in connection:
            events.append(event)
            assert event.type != "error", event
            if event.type == "response.done":
                break
    kinds = [e.type for e in events]
    assert kinds[0] == "session.created" and "session.updated" in kinds
    heard = next(
        e for e in events if e.type == "conversation.item.input_audio_transcription.completed"
    )
    assert {"evening", "hands"} <= words(heard.transcript)
    delta = "response.output_audio.delta" if ga else "response.audio.delta"
    deltas = [e.delta for e in events if e.type == delta]
    assert len(words(hear(live.services, from_pcm16(deltas))) & words(CLIP_WORDS)) >= 4
    assert events[-1].response.status == "completed"
    return events


def test_the_openai_sdk_realtime_client_completes_a_spoken_turn(live: Live) -> None:
    kinds = [e.type for e in sdk_spoken_turn(live, ga=False)]
    assert "conversation.item.created" in kinds and "response.audio_transcript.done" in kinds


def test_the_openai_sdks_ga_realtime_client_completes_a_spoken_turn(live: Live) -> None:
    kinds = [e.type for e in sdk_spoken_turn(live, ga=True)]
    assert "conversation.item.added" in kinds and "response.output_audio_transcript.done" in kinds
