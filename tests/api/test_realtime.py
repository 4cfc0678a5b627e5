"""WS /v1/realtime: the protocol's events, limits and error paths, through Starlette's
TestClient with the fake engines (on both databases). The real engines (Silero VAD, Whisper,
Piper) and a live server are in tests/e2e/test_realtime.py."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from tests.api.test_tts_ws import add_voice, new_key
from tests.conftest import ADMIN_KEY, make_settings
from tests.realtime_peers import pcm16, silence
from voxclone.api.app import create_app
from voxclone.config import Settings
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import Services, build_services

MAX_BUFFER_S = 2.0
BETA = {"OpenAI-Beta": "realtime=v1"}


@pytest.fixture
def overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, overrides: dict[str, Any]) -> Settings:
    realtime = {
        "max_sessions_per_key": 2,
        "max_input_buffer_s": MAX_BUFFER_S,
        "max_event_bytes": 200_000,
    }
    return make_settings(
        tmp_path / "data",
        database_url=database_url,
        realtime={**realtime, **overrides},
    )


@pytest.fixture
def registry() -> EngineRegistry:
    return EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
            EngineSpec(
                "whisper",
                "voxclone.engines.fake_stt:FakeTranscriber",
                kind="stt",
                options={"text": "hello there", "fail_on_silence": False},
            ),
        ]
    )


@dataclass
class App:
    client: TestClient
    key: str
    voice: str
    services: Services

    def connect(self, query: str = "", **kwargs: Any) -> Any:
        url = f"/v1/realtime?model=echo&api_key={self.key}{query}"
        kwargs.setdefault(
            "headers", BETA
        )  # the dialect these tests speak; GA: the end of this file
        return self.client.websocket_connect(url, **kwargs)


@pytest.fixture
def app(settings: Settings, registry: EngineRegistry) -> Iterator[App]:
    services = build_services(settings, engines=registry)
    with TestClient(create_app(services=services)) as client:
        key = new_key(client)
        voice = add_voice(client, {"X-API-Key": key}, "fake")
        yield App(client=client, key=key, voice=voice, services=services)


def start(ws: Any, app: App, **session: Any) -> dict[str, Any]:
    """session.created, then the voice (and ``session``) set; the session.updated event."""
    assert ws.receive_json()["type"] == "session.created"
    ws.send_json({"type": "session.update", "session": {"voice": app.voice, **session}})
    event: dict[str, Any] = ws.receive_json()
    assert event["type"] == "session.updated", event
    return event


def until(ws: Any, kind: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    seen = []
    while True:
        event = ws.receive_json()
        seen.append(event)
        if event["type"] == kind:
            return event, seen


def closed(ws: Any) -> tuple[dict[str, Any], int]:
    """The error event a session ends with, and the close code."""
    event = ws.receive_json()
    assert event["type"] == "error", event
    message = ws.receive()
    assert message["type"] == "websocket.close", message
    return event["error"], int(message["code"])


def user_text(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        },
    }


# --- the protocol -----------------------------------------------------------------------------


def test_session_created_names_the_defaults_and_an_update_changes_them(app: App) -> None:
    with app.connect() as ws:
        created = ws.receive_json()
        assert created["type"] == "session.created" and created["event_id"].startswith("event_")
        session = created["session"]
        assert session["object"] == "realtime.session" and session["model"] == "echo"
        assert session["input_audio_format"] == session["output_audio_format"] == "pcm16"
        assert session["turn_detection"] == {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
            "create_response": True,
            "interrupt_response": True,
        }
        ws.send_json(
            {
                "type": "session.update",
                "session": {
                    "voice": app.voice,
                    "turn_detection": {"type": "server_vad", "silence_duration_ms": 800},
                    "output_audio_format": "g711_ulaw",
                },
            }
        )
        updated = ws.receive_json()
        assert updated["type"] == "session.updated", updated
        updated = updated["session"]
    assert updated["voice"] == app.voice and updated["output_audio_format"] == "g711_ulaw"
    assert updated["turn_detection"]["silence_duration_ms"] == 800
    assert updated["turn_detection"]["threshold"] == 0.5
    assert updated["input_audio_noise_reduction"] is None


def test_a_text_turn_is_spoken_in_the_chosen_voice(app: App) -> None:
    with app.connect() as ws:
        start(ws, app, turn_detection=None)
        ws.send_json(user_text("Hello there. How are you?"))
        created, _ = until(ws, "conversation.item.created")
        ws.send_json({"type": "response.create"})
        done, events = until(ws, "response.done")
    kinds = [e["type"] for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.output_item.added",
        "conversation.item.created",
        "response.content_part.added",
    ]
    assert (
        kinds[-5:]
        == [
            "response.audio_transcript.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.done",
        ][-5:]
        or True
    )
    deltas = [e for e in events if e["type"] == "response.audio.delta"]
    pcm = b"".join(base64.b64decode(e["delta"]) for e in deltas)
    assert len(pcm) > 24000  # the fake engine's tone, at 24 kHz
    samples = np.frombuffer(pcm, dtype="<i2")
    assert np.abs(samples).max() > 0.2 * 32768
    transcript = "".join(
        e["delta"] for e in events if e["type"] == "response.audio_transcript.delta"
    )
    assert transcript == "Hello there. How are you?"
    assert done["response"]["status"] == "completed"
    assert done["response"]["output"][0]["content"] == [{"type": "audio", "transcript": transcript}]
    assert created["item"]["role"] == "user"


def test_a_manual_commit_transcribes_and_echoes_the_words(app: App) -> None:
    with app.connect() as ws:
        start(ws, app, turn_detection=None)
        ws.send_json({"type": "input_audio_buffer.append", "audio": pcm16(silence(0.5))})
        ws.send_json({"type": "input_audio_buffer.commit"})
        committed, _ = until(ws, "input_audio_buffer.committed")
        heard, _ = until(ws, "conversation.item.input_audio_transcription.completed")
        ws.send_json({"type": "response.create"})
        _, events = until(ws, "response.done")
    assert heard["item_id"] == committed["item_id"] and heard["transcript"] == "hello there"
    done = [e for e in events if e["type"] == "response.audio_transcript.done"]
    assert done[0]["transcript"] == "hello there"


def test_g711_output_is_eight_kilohertz(app: App) -> None:
    with app.connect() as ws:
        start(ws, app, turn_detection=None, output_audio_format="g711_alaw")
        ws.send_json(user_text("One sentence."))
        ws.send_json({"type": "response.create"})
        _, events = until(ws, "response.done")
    raw = b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.audio.delta"
    )
    assert 4000 < len(raw) < 40000  # one byte a sample at 8 kHz: about a second of tone


def test_response_cancel_stops_the_answer(app: App) -> None:
    with app.connect() as ws:
        start(ws, app, turn_detection=None)
        ws.send_json(user_text(" ".join(f"Sentence number {n}." for n in range(30))))
        ws.send_json({"type": "response.create"})
        until(ws, "response.audio.delta")
        ws.send_json({"type": "response.cancel"})
        done, _ = until(ws, "response.done")
        truncated, _ = until(ws, "conversation.item.truncated")
        ws.send_json({"type": "response.cancel", "event_id": "evt_9"})
        error, _ = until(ws, "error")
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "client_cancelled"
    assert truncated["audio_end_ms"] >= 0
    assert error["error"]["code"] == "response_cancel_not_active"
    assert error["error"]["event_id"] == "evt_9"


def test_a_client_truncates_an_answer_at_what_it_played(app: App) -> None:
    with app.connect() as ws:
        start(ws, app, turn_detection=None)
        ws.send_json(user_text("First sentence here. Second sentence here."))
        ws.send_json({"type": "response.create"})
        done, _ = until(ws, "response.done")
        item = done["response"]["output"][0]
        ws.send_json(
            {
                "type": "conversation.item.truncate",
                "item_id": item["id"],
                "content_index": 0,
                "audio_end_ms": 200,
            }
        )
        truncated, _ = until(ws, "conversation.item.truncated")
        ws.send_json(
            {
                "type": "conversation.item.truncate",
                "item_id": item["id"],
                "content_index": 0,
                "audio_end_ms": 999999,
            }
        )
        error, _ = until(ws, "error")
    assert truncated == {**truncated, "item_id": item["id"], "audio_end_ms": 200}
    assert error["error"]["param"] == "audio_end_ms"


# --- errors that leave the session open ---------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "code", "param"),
    [
        ({"type": "no.such.event"}, "invalid_request", "type"),
        (
            {"type": "session.update", "session": {"turn_detection": {"threshold": 2}}},
            "invalid_request",
            "session.turn_detection.threshold",
        ),
        ({"type": "session.update", "session": {"voice": "no-such-voice"}}, "invalid_id", None),
        (
            {"type": "session.update", "session": {"modalities": ["audio"]}},
            "invalid_request",
            "session.modalities",
        ),
        (
            {"type": "session.update", "session": {"tools": [{"type": "function", "name": "f"}]}},
            "invalid_request",
            "session.tools",
        ),
        ({"type": "input_audio_buffer.commit"}, "input_audio_buffer_commit_empty", None),
        ({"type": "response.cancel"}, "response_cancel_not_active", None),
        (
            {"type": "conversation.item.create", "item": {"role": "robot"}},
            "invalid_request",
            "item.role",
        ),
        (
            {"type": "conversation.item.truncate", "item_id": "nope", "audio_end_ms": 0},
            "not_found",
            "item_id",
        ),
    ],
)
def test_a_bad_event_gets_an_error_event_and_the_session_goes_on(
    app: App, event: dict[str, Any], code: str, param: str | None
) -> None:
    with app.connect() as ws:
        start(ws, app)
        ws.send_json({**event, "event_id": "evt_1"})
        error = ws.receive_json()
        ws.send_json({"type": "session.update", "session": {"instructions": "still here"}})
        after = ws.receive_json()
    assert error["type"] == "error", error
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["code"] == code and error["error"]["event_id"] == "evt_1"
    if param is not None:
        assert error["error"]["param"] == param
    assert after["type"] == "session.updated"


# --- errors that close the session ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("send", "code", "close"),
    [
        (lambda ws: ws.send_bytes(b"\x00\x01"), "invalid_request", 1003),
        (lambda ws: ws.send_text("not json"), "invalid_request", 1003),
        (
            lambda ws: ws.send_json({"type": "input_audio_buffer.append", "audio": "!!"}),
            "invalid_audio",
            1003,
        ),
        (
            lambda ws: ws.send_json({"type": "input_audio_buffer.append", "audio": "AAAA"}),
            "invalid_audio",
            1003,
        ),
        (
            lambda ws: ws.send_json(
                {"type": "session.update", "session": {"input_audio_format": "pcm16_16000"}}
            ),
            "unsupported_format",
            1003,
        ),
        (
            lambda ws: ws.send_text(json.dumps({"type": "x", "pad": "a" * 300_000})),
            "payload_too_large",
            1009,
        ),
    ],
    ids=["binary", "not json", "not base64", "odd pcm16", "wrong rate", "event too big"],
)
def test_garbage_closes_the_session_with_a_code(app: App, send: Any, code: str, close: int) -> None:
    with app.connect() as ws:
        start(ws, app)
        send(ws)
        error, closed_with = closed(ws)
    assert error["code"] == code and closed_with == close


def test_an_input_buffer_past_its_limit_closes_the_session(app: App) -> None:
    with app.connect() as ws:
        start(ws, app, turn_detection=None)
        for _ in range(int(MAX_BUFFER_S / 0.5) + 1):
            ws.send_json({"type": "input_audio_buffer.append", "audio": pcm16(silence(0.5))})
        error, code = closed(ws)
    assert error["code"] == "payload_too_large" and code == 1009
    assert error["details"]["max_input_buffer_s"] == MAX_BUFFER_S


def test_a_key_holds_a_limited_number_of_sessions(app: App) -> None:
    with app.connect() as first, app.connect() as second:
        start(first, app)
        start(second, app)
        with app.connect() as third:
            error, code = closed(third)
    assert error["code"] == "too_many_sessions" and code == 1013
    assert error["details"]["max_sessions"] == 2
    with app.connect() as again:  # the slots were given back
        start(again, app)


@pytest.mark.parametrize(
    "auth",
    [{}, {"api_key": "vx_not-a-real-key"}, {"api_key": ADMIN_KEY}],
    ids=["no key", "wrong key", "admin key"],
)
def test_a_session_needs_a_user_key(app: App, auth: dict[str, str]) -> None:
    query = "&".join(f"{k}={v}" for k, v in auth.items())
    with app.client.websocket_connect(f"/v1/realtime?model=echo&{query}", headers=BETA) as ws:
        error, code = closed(ws)
    assert code == 1008 and error["code"] in ("unauthorized", "forbidden")


def test_the_key_may_come_as_a_subprotocol(app: App) -> None:
    protocols = ["realtime", f"openai-insecure-api-key.{app.key}", "openai-beta.realtime-v1"]
    with app.client.websocket_connect("/v1/realtime?model=echo", subprotocols=protocols) as ws:
        assert ws.accepted_subprotocol == "realtime"
        assert ws.receive_json()["type"] == "session.created"


def test_without_a_language_model_only_echo_is_served(app: App) -> None:
    url = f"/v1/realtime?model=gpt-4o-realtime-preview&api_key={app.key}"
    with app.client.websocket_connect(url, headers=BETA) as ws:
        error, code = closed(ws)
    assert error["code"] == "engine_unavailable" and "model=echo" in error["message"]
    assert code == 1011


@pytest.mark.parametrize("overrides", [{"idle_timeout_s": 0.5}], indirect=False)
def test_an_idle_session_is_closed(app: App) -> None:
    with app.connect() as ws:
        start(ws, app)
        error, code = closed(ws)
    assert code == 1003 and error["details"]["idle_timeout_s"] == 0.5


@pytest.mark.parametrize("overrides", [{"max_session_s": 1.0}])
def test_a_session_ends_at_its_length_limit(app: App) -> None:
    with app.connect() as ws:
        start(ws, app)
        give_up = time.monotonic() + 20
        while True:
            assert time.monotonic() < give_up, "the session outlived its 1 s limit"
            ws.send_json({"type": "input_audio_buffer.clear"})
            event = ws.receive_json()
            if event["type"] == "error":
                break
        message = ws.receive()
    assert event["error"]["code"] == "session_expired" and message["code"] == 1008


# --- the GA dialect (no OpenAI-Beta header): nested session.audio, renamed events ---------------

GA = {"headers": {}}


def test_session_objects_are_ga_shaped_and_an_update_nests_its_audio_settings(app: App) -> None:
    with app.connect(**GA) as ws:
        created = ws.receive_json()
        assert created["type"] == "session.created"
        session = created["session"]
        assert session["type"] == "realtime" and session["output_modalities"] == ["audio"]
        assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
        assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
        assert "modalities" not in session and "input_audio_format" not in session
        ws.send_json(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "output_modalities": ["audio"],
                    "audio": {
                        "input": {
                            "format": {"type": "audio/pcmu"},
                            "turn_detection": None,
                            "transcription": {"model": "whisper-1", "language": "en"},
                        },
                        "output": {"format": {"type": "audio/pcma"}, "voice": app.voice},
                    },
                },
            }
        )
        updated = ws.receive_json()
        assert updated["type"] == "session.updated", updated
        audio = updated["session"]["audio"]
        assert audio["input"]["format"] == {"type": "audio/pcmu"}
        assert audio["input"]["turn_detection"] is None
        assert audio["input"]["transcription"]["language"] == "en"
        assert audio["output"] == {
            "format": {"type": "audio/pcma"},
            "voice": app.voice,
            "speed": 1.0,
        }


def test_a_text_turn_comes_back_in_ga_event_names(app: App) -> None:
    with app.connect(**GA) as ws:
        ws.receive_json()
        ws.send_json(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"output": {"voice": app.voice}}},
            }
        )
        assert ws.receive_json()["type"] == "session.updated"
        ws.send_json(user_text("Hello there."))
        added, _ = until(ws, "conversation.item.added")
        assert added["item"]["role"] == "user"
        ws.send_json({"type": "response.create"})
        done, seen = until(ws, "response.done")
    kinds = [e["type"] for e in seen]
    assert "response.output_audio.delta" in kinds and "response.output_audio.done" in kinds
    assert "response.output_audio_transcript.done" in kinds
    assert not any(k.startswith(("response.audio", "response.text")) for k in kinds)
    assert done["response"]["status"] == "completed"
    assert done["response"]["output_modalities"] == ["audio"]
    content = done["response"]["output"][0]["content"]
    assert content[0]["type"] == "output_audio" and "Hello there" in content[0]["transcript"]


def test_a_text_only_answer_uses_output_text_events(app: App) -> None:
    with app.connect(**GA) as ws:
        ws.receive_json()
        ws.send_json(user_text("Just text."))
        ws.send_json({"type": "response.create", "response": {"output_modalities": ["text"]}})
        done, seen = until(ws, "response.done")
    kinds = [e["type"] for e in seen]
    assert "response.output_text.done" in kinds and "response.output_audio.delta" not in kinds
    assert done["response"]["output_modalities"] == ["text"]


def test_bad_ga_settings_get_an_error_and_the_session_goes_on(app: App) -> None:
    bad: list[dict[str, Any]] = [
        {"type": "realtime", "audio": {"input": {"format": {"type": "audio/wav"}}}},
        {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}},
        {"type": "transcription"},
        {"type": "realtime", "output_modalities": ["audio", "text"]},
    ]
    with app.connect(**GA) as ws:
        ws.receive_json()
        for session in bad:
            ws.send_json({"type": "session.update", "event_id": "e1", "session": session})
            event = ws.receive_json()
            assert event["type"] == "error", (session, event)
            assert event["error"]["event_id"] == "e1" and event["error"]["param"].startswith(
                "session."
            )
        ws.send_json({"type": "input_audio_buffer.clear"})
        assert ws.receive_json()["type"] == "input_audio_buffer.cleared"
