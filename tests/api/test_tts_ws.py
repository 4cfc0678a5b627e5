"""WS /v1/text-to-speech/{voice_id}/ws: text in as it is written, PCM out sentence by sentence.

The protocol, the limits and the errors go through Starlette's TestClient with the fake engines
(on both databases); a client that hangs up goes through uvicorn in a thread, as does the one
test with a real engine (Piper) and a real WebSocket client."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from starlette.testclient import TestClient
from websockets.sync.client import connect

from tests.conftest import ADMIN_KEY, make_settings, tone_wav
from tests.e2e.test_piper_end_to_end import reference_clip
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.config import Settings
from voxclone.core.types import new_id
from voxclone.engines.base import SynthesisParams
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.fake import FakeEngine
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import Services, build_services

MAX_TEXT = 200
MAX_CHARS = 400
MAX_MESSAGE = 1024
IDLE_S = 1.0
"""The idle limit of the tests about it; the others get a minute, so a loaded host that is
slow to send the next message does not close their socket."""
SLOW_S = 0.3
"""Seconds per sentence of the ``slow`` engine."""

PIECES = ["Hello there, this is", " the first sentence. And here", " comes the second one."]
SENTENCES = ["Hello there, this is the first sentence.", "And here comes the second one."]


@pytest.fixture
def idle_s() -> float:
    return 60.0


@pytest.fixture
def settings(tmp_path: Path, database_url: str, idle_s: float) -> Settings:
    return make_settings(
        tmp_path / "data",
        database_url=database_url,
        limits={
            "max_text_chars": MAX_TEXT,
            "tts_ws_max_chars": MAX_CHARS,
            "tts_ws_max_message_bytes": MAX_MESSAGE,
            "tts_ws_idle_timeout_s": idle_s,
        },
    )


@pytest.fixture
def registry() -> EngineRegistry:
    fake = "voxclone.engines.fake:FakeEngine"
    return EngineRegistry(
        [
            EngineSpec("fake", fake),
            EngineSpec("slow", fake, options={"delay_s": SLOW_S}),
            EngineSpec("fitter", fake, options={"fitting": True, "fit_delay_s": 2.0}),
        ]
    )


@dataclass
class WsApp:
    client: TestClient
    key: str
    services: Services
    voices: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def voice(self, backend: str = "fake") -> str:
        if backend not in self.voices:
            self.voices[backend] = add_voice(self.client, self.headers, backend)
        return self.voices[backend]

    def url(self, voice_id: str | None = None, query: str = "") -> str:
        voice_id = voice_id or self.voice()
        return f"/v1/text-to-speech/{voice_id}/ws?api_key={self.key}{query}"


def add_voice(client: TestClient | httpx.Client, headers: dict[str, str], backend: str) -> str:
    r = client.post(
        "/v1/voices",
        data={"name": backend, "backend": backend},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["voice_id"])


def new_key(client: TestClient | httpx.Client) -> str:
    r = client.post("/v1/keys", json={"label": "ws"}, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


@pytest.fixture
def ws_app(settings: Settings, registry: EngineRegistry) -> Iterator[WsApp]:
    services = build_services(settings, engines=registry)
    with TestClient(create_app(services=services)) as client:
        yield WsApp(client=client, key=new_key(client), services=services)


def fake_bytes(*sentences: str, rate: int = 16000, speed: float = 1.0) -> int:
    """Bytes of PCM s16le the fake engine makes of ``sentences``, each synthesized alone."""
    params = SynthesisParams(language="en", speed=speed)
    engine = FakeEngine("fake", sample_rate=rate)
    return sum(
        2 * chunk.samples.size
        for sentence in sentences
        for chunk in engine.synthesize(sentence, {}, params)
    )


def started(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = ws.receive_json()
    assert message["type"] == "started", message
    return message


def receive_pcm(ws: Any, size: int) -> bytes:
    """Binary messages until ``size`` bytes came."""
    data = b""
    while len(data) < size:
        message = ws.receive()
        assert message.get("bytes") is not None, message
        data += message["bytes"]
    assert len(data) == size
    return data


def until_closed(ws: Any) -> tuple[bytes, list[dict[str, Any]], int]:
    """Everything up to the close: the PCM, the JSON messages, the close code."""
    pcm, texts = b"", []
    while (message := ws.receive())["type"] != "websocket.close":
        if message.get("bytes") is not None:
            pcm += message["bytes"]
        else:
            texts.append(json.loads(message["text"]))
    return pcm, texts, int(message["code"])


def speak(ws_app: WsApp, messages: list[dict[str, Any]], query: str = "") -> tuple[bytes, dict]:
    """Send ``messages`` and the end of input; the PCM and the final message."""
    with ws_app.client.websocket_connect(ws_app.url(query=query)) as ws:
        started(ws)
        for message in [*messages, {"text": ""}]:
            ws.send_json(message)
        pcm, texts, code = until_closed(ws)
    assert code == 1000 and len(texts) == 1 and texts[0]["isFinal"] is True, texts
    return pcm, texts[0]


# --- the protocol ---------------------------------------------------------------------------------


def test_sentences_are_spoken_before_the_input_ends(ws_app: WsApp) -> None:
    voice_id = ws_app.voice()
    with ws_app.client.websocket_connect(ws_app.url(voice_id)) as ws:
        assert started(ws) == {
            "type": "started",
            "voice_id": voice_id,
            "backend": "fake",
            "sample_rate": 16000,
            "encoding": "pcm_s16le",
        }
        ws.send_json({"text": " ", "voice_settings": {"stability": 0.5, "speed": 1.0}})
        for piece in PIECES:
            ws.send_json({"text": piece, "try_trigger_generation": True})
        # The first sentence ended inside the second piece: its audio comes without the end.
        first = receive_pcm(ws, fake_bytes(SENTENCES[0]))
        ws.send_json({"text": ""})
        rest, texts, code = until_closed(ws)
    assert np.abs(np.frombuffer(first, dtype="<i2")).max() > 0.2 * 32768  # the tone
    assert len(first + rest) == fake_bytes(*SENTENCES)
    assert code == 1000
    assert texts == [
        {
            "type": "final",
            "isFinal": True,
            "characters": 1 + sum(len(p) for p in PIECES),
            "duration_s": round(fake_bytes(*SENTENCES) / 2 / 16000, 3),
            "pieces": 2,
            "cache_hits": 0,
            "sample_rate": 16000,
        }
    ]


def test_audio_follows_the_text_in_order_and_repeats_are_cache_hits(ws_app: WsApp) -> None:
    sentences = ["A short one.", "Then a much longer sentence follows it.", "Mid length here."]
    messages = [{"text": f"{s} "} for s in sentences]
    first, final = speak(ws_app, messages)
    assert final["cache_hits"] == 0 and final["pieces"] == 3
    again, final = speak(ws_app, messages)
    assert final["cache_hits"] == 3
    # Each sentence cached as synchronous synthesis stores it: the same bytes, in text order.
    one_by_one = b""
    for sentence in sentences:
        r = ws_app.client.post(
            f"/v1/text-to-speech/{ws_app.voice()}?output_format=pcm_16000",
            json={"text": sentence},
            headers=ws_app.headers,
        )
        assert r.headers["X-Cache"] == "HIT"
        one_by_one += r.content
    assert again == one_by_one
    assert len(first) == len(again) == fake_bytes(*sentences)


def test_flush_speaks_what_is_buffered(ws_app: WsApp) -> None:
    with ws_app.client.websocket_connect(ws_app.url()) as ws:
        started(ws)
        ws.send_json({"text": "No full stop", "flush": False})
        ws.send_json({"text": " in this one", "flush": True})
        receive_pcm(ws, fake_bytes("No full stop in this one"))
        ws.send_json({"text": "Then the end"})
        ws.send_json({"text": ""})
        pcm, texts, code = until_closed(ws)
    assert len(pcm) == fake_bytes("Then the end")
    assert code == 1000 and texts[0]["pieces"] == 2


def test_rate_and_speed_come_from_the_query_and_the_first_message(ws_app: WsApp) -> None:
    pcm, final = speak(
        ws_app,
        [{"text": " ", "voice_settings": {"speed": 2}}, {"text": "Twice as fast."}],
        query="&output_format=pcm_24000&language_code=en&model_id=fake",
    )
    assert len(pcm) == fake_bytes("Twice as fast.", rate=24000, speed=2.0)
    assert final["sample_rate"] == 24000
    assert final["duration_s"] == pytest.approx(fake_bytes("Twice as fast.") / 2 / 16000 / 2)


def test_end_of_input_at_once_and_messages_after_it(ws_app: WsApp) -> None:
    with ws_app.client.websocket_connect(ws_app.url()) as ws:
        started(ws)
        ws.send_json({"text": "Only this."})
        ws.send_json({"text": ""})
        ws.send_json({"text": "Ignored, the input has ended."})
        pcm, texts, code = until_closed(ws)
    assert len(pcm) == fake_bytes("Only this.")
    assert code == 1000 and texts[0]["characters"] == len("Only this.")
    pcm, final = speak(ws_app, [])
    assert pcm == b"" and final["pieces"] == 0 and final["duration_s"] == 0


@pytest.mark.parametrize("idle_s", [IDLE_S])
def test_a_busy_stream_is_not_idle(ws_app: WsApp) -> None:
    text = " ".join(f"Sentence {n}." for n in range(5))  # 1.5 s of synthesis > IDLE_S
    with ws_app.client.websocket_connect(ws_app.url(ws_app.voice("slow"))) as ws:
        started(ws)
        ws.send_json({"text": text, "flush": True})
        receive_pcm(ws, fake_bytes(text))  # no message meanwhile, and no idle timeout
        ws.send_json({"text": ""})
        _, texts, code = until_closed(ws)
    assert code == 1000 and texts[0]["pieces"] == 5


# --- errors ---------------------------------------------------------------------------------------


def error_and_close(ws: Any) -> tuple[dict[str, Any], int]:
    _, texts, code = until_closed(ws)
    assert len(texts) == 1 and texts[0]["type"] == "error", texts
    return texts[0], code


@pytest.mark.parametrize(
    "key", [None, "vx_not-a-real-key", ADMIN_KEY], ids=["no key", "wrong key", "admin key"]
)
def test_wrong_keys_are_refused(ws_app: WsApp, key: str | None) -> None:
    url = f"/v1/text-to-speech/{ws_app.voice()}/ws" + (f"?api_key={key}" if key else "")
    with ws_app.client.websocket_connect(url) as ws:
        error, code = error_and_close(ws)
    assert error["error"] in ("unauthorized", "forbidden") and code == 1008


def test_the_key_may_come_in_a_header(ws_app: WsApp) -> None:
    url = f"/v1/text-to-speech/{ws_app.voice()}/ws"
    with ws_app.client.websocket_connect(url, headers={"X-API-Key": ws_app.key}) as ws:
        started(ws)


def test_voices_not_found_or_not_ready(ws_app: WsApp) -> None:
    other = new_key(ws_app.client)
    theirs = add_voice(ws_app.client, {"X-API-Key": other}, "fake")
    for voice_id in (theirs, new_id()):
        with ws_app.client.websocket_connect(ws_app.url(voice_id)) as ws:
            error, code = error_and_close(ws)
        assert error["error"] == "not_found" and code == 4404
    with ws_app.client.websocket_connect(ws_app.url(ws_app.voice("fitter"))) as ws:
        error, code = error_and_close(ws)
    assert error["error"] == "conflict" and error["details"]["status"] == "fitting"
    assert code == 4409


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("&output_format=mp3_44100_128", "unsupported_format"),
        ("&output_format=pcm_96000", "invalid_request"),
        ("&model_id=nope", "unknown_backend"),
        ("&language_code=xx", "unsupported_language"),
    ],
)
def test_bad_query_is_refused_before_any_text(ws_app: WsApp, query: str, code: str) -> None:
    with ws_app.client.websocket_connect(ws_app.url(query=query)) as ws:
        error, close = error_and_close(ws)
    assert error["error"] == code and close == 1003


@pytest.mark.parametrize(
    "message",
    [
        b"\x00\x01",
        "not json",
        "[1, 2]",
        '{"flush": true}',
        '{"text": 5}',
        '{"text": "x", "flush": "yes"}',
        '{"text": " ", "voice_settings": {"speed": "fast"}}',
        '{"text": " ", "voice_settings": {"speed": true}}',
        '{"text": " ", "voice_settings": {"speed": 9}}',
        '{"text": " ", "voice_settings": []}',
    ],
)
def test_garbage_is_refused(ws_app: WsApp, message: str | bytes) -> None:
    with ws_app.client.websocket_connect(ws_app.url()) as ws:
        started(ws)
        if isinstance(message, bytes):
            ws.send_bytes(message)
        else:
            ws.send_text(message)
        _, texts, code = until_closed(ws)
    assert [t["type"] for t in texts] == ["error"]
    assert texts[0]["error"] == "invalid_request" and code == 1003
    assert "no message for" not in texts[0]["message"]  # refused for what it said, not idleness


def test_too_much_text_is_refused(ws_app: WsApp) -> None:
    with ws_app.client.websocket_connect(ws_app.url()) as ws:
        started(ws)
        ws.send_text(json.dumps({"text": "x" * MAX_MESSAGE}))  # and the JSON around it
        error, code = error_and_close(ws)
    assert error["error"] == "payload_too_large" and code == 1009
    # More than max_text_chars waiting for synthesis at once (no sentence has ended).
    with ws_app.client.websocket_connect(ws_app.url()) as ws:
        started(ws)
        ws.send_json({"text": "word " * 30})
        ws.send_json({"text": "word " * 15})
        error, code = error_and_close(ws)
    assert error["error"] == "invalid_text" and code == 1009
    assert error["details"] == {"length": 225, "max_chars": MAX_TEXT}
    # More than tts_ws_max_chars on one connection, though each piece was spoken in time.
    with ws_app.client.websocket_connect(ws_app.url()) as ws:
        started(ws)
        for _ in range(MAX_CHARS // 100):
            ws.send_json({"text": "word " * 20, "flush": True})
            receive_pcm(ws, fake_bytes("word " * 20))
        ws.send_json({"text": "one more"})
        error, code = error_and_close(ws)
    assert error["error"] == "invalid_text" and code == 1009
    assert "on one connection" in error["message"]


@pytest.mark.parametrize("idle_s", [IDLE_S])
def test_an_idle_client_is_closed(ws_app: WsApp) -> None:
    with ws_app.client.websocket_connect(ws_app.url()) as ws:
        started(ws)
        ws.send_json({"text": "Nothing ends here"})
        error, code = error_and_close(ws)  # nothing more for tts_ws_idle_timeout_s
    assert "no message for 1 s" in error["message"] and code == 1003


def test_an_engine_error_closes_with_1011(ws_app: WsApp) -> None:
    with ws_app.client.websocket_connect(ws_app.url()) as ws:
        started(ws)
        ws.send_json({"text": "This one is fine. This will FAIL.", "flush": True})
        pcm, texts, code = until_closed(ws)
    assert len(pcm) == fake_bytes("This one is fine.")
    assert texts[0]["error"] == "engine_error" and code == 1011


# --- over a socket --------------------------------------------------------------------------------


def ws_url(http_url: str, voice_id: str, key: str) -> str:
    return f"{http_url.replace('http', 'ws', 1)}/v1/text-to-speech/{voice_id}/ws?api_key={key}"


def test_a_client_that_hangs_up_stops_the_engine(
    settings: Settings, registry: EngineRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voxclone")
    services = build_services(settings, engines=registry)
    with ThreadServer(create_app(services=services), ws="websockets-sansio") as url:
        with httpx.Client(base_url=url) as client:
            key = new_key(client)
            voice_id = add_voice(client, {"X-API-Key": key}, "slow")
        engine = services.engines.get_tts("slow")
        assert isinstance(engine, FakeEngine)
        text = " ".join(f"Sentence number {n}." for n in range(10))  # 3 s of work
        with connect(ws_url(url, voice_id, key)) as ws:
            assert json.loads(ws.recv())["type"] == "started"
            ws.send(json.dumps({"text": text, "flush": True}))
            assert isinstance(ws.recv(timeout=5), bytes)  # the first sentence, then hang up
        time.sleep(3 * SLOW_S)
        made = engine.chunks_made
        time.sleep(3 * SLOW_S)
        assert engine.chunks_made == made <= 5  # of 10; the one in progress may finish
    assert any("stopped after" in r.getMessage() for r in caplog.records)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.engine
def test_piper_speaks_text_streamed_over_a_real_socket(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, default_backend="piper", auto_transcribe_references=False)
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    with ThreadServer(create_app(services=services), ws="websockets-sansio") as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            key = new_key(client)
            clip = reference_clip()
            r = client.post(
                "/v1/voices",
                data={"name": "speaker", "lang": "en", "backend": "piper"},
                files={"ref_audio": (clip.name, clip.read_bytes(), "application/octet-stream")},
                headers={"X-API-Key": key},
            )
            assert r.status_code == 201, r.text
            voice_id = r.json()["voice_id"]
        with connect(ws_url(url, voice_id, key), open_timeout=60) as ws:
            start = json.loads(ws.recv(timeout=60))
            assert start["backend"] == "piper" and start["sample_rate"] == 22050
            ws.send(json.dumps({"text": " "}))
            for piece in ["The quick brown fox", " jumps over the lazy dog. It was", " a sunny"]:
                ws.send(json.dumps({"text": piece}))
            early = ws.recv(timeout=60)  # the first sentence, before the input ends
            assert isinstance(early, bytes)
            ws.send(json.dumps({"text": " day."}))
            ws.send(json.dumps({"text": ""}))
            pcm, final = early, None
            for message in ws:
                if isinstance(message, bytes):
                    pcm += message
                else:
                    final = json.loads(message)
        assert ws.close_code == 1000
    assert final is not None and final["isFinal"] is True and final["pieces"] == 2
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    seconds = samples.size / 22050
    assert final["duration_s"] == pytest.approx(seconds, abs=1e-3)
    assert 2.5 < seconds < 8.0, seconds  # about 13 words of speech
    assert float(np.sqrt(np.mean(samples**2))) > 0.01  # speech, not silence
