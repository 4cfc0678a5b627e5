"""POST /v1/realtime/calls: a realtime session over WebRTC against a live server (uvicorn on
loopback, real ICE/DTLS/SRTP through aiortc on both sides), with real engines: the microphone
track says a real clip, Silero VAD hears the turn, Whisper transcribes it, Piper echoes it on the
answer track, and the track's audio is transcribed back to check it is speech."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import ADMIN_KEY, make_settings
from tests.realtime_peers import CLIP_WORDS, silence, speech_clip
from tests.remote.servers import ThreadServer
from tests.webrtc_peer import RATE, CallRefused, open_call
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


@dataclass
class Live:
    url: str
    key: str
    services: Services

    def new_key(self) -> str:
        r = httpx.post(
            f"{self.url}/v1/keys", json={"label": "other"}, headers={"X-API-Key": ADMIN_KEY}
        )
        assert r.status_code == 201, r.text
        return str(r.json()["api_key"])


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def loud(samples: np.ndarray) -> np.ndarray:
    """Which 20 ms frames of 24 kHz audio hold sound."""
    frames = samples[: len(samples) // 480 * 480].reshape(-1, 480)
    return np.sqrt((frames**2).mean(axis=1)) > 0.01


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    settings = make_settings(
        tmp_path,
        default_backend="piper",
        auto_transcribe_references=False,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        realtime={"default_voice": PIPER, "output_lead_ms": 300, "max_sessions_per_key": 2},
    )
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    with ThreadServer(create_app(services=services), ws="websockets-sansio") as url:
        live = Live(url=url, key="", services=services)
        live.key = live.new_key()
        yield live


def test_a_spoken_turn_is_heard_and_echoed_on_the_answer_track(live: Live) -> None:
    async def talk() -> None:
        session = {"type": "realtime", "audio": {"input": {"turn_detection": {
            "type": "server_vad", "silence_duration_ms": 400}}}}  # fmt: skip
        call = await open_call(live.url, live.key, session=session)
        try:
            created = await call.until("session.created")
            assert created["session"]["audio"]["output"]["voice"] == PIPER
            updated = (await call.until("session.updated"))["session"]
            assert updated["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 400
            call.mic.say(np.concatenate([silence(0.3), speech_clip(), silence(1.5)]))
            started = await call.until("input_audio_buffer.speech_started", within=30)
            heard = await call.until(
                "conversation.item.input_audio_transcription.completed", within=60
            )
            assert heard["item_id"] == started["item_id"]
            assert {"time", "evening", "men", "hands"} <= words(heard["transcript"])
            done = await call.until("response.done", within=120)
            assert done["response"]["status"] == "completed"
            playing = await call.until("output_audio_buffer.started")
            await call.until("output_audio_buffer.stopped", within=30)
            assert playing["response_id"] == done["response"]["id"]
            # no audio on the channel: it is on the track
            assert not call.of("response.output_audio.delta")
            answer = call.audio()
        finally:
            await call.pc.close()
        sound = loud(answer)
        assert 1.5 < sound.sum() * 0.02 < 8
        text = live.services.engines.get_stt("whisper").transcribe(Audio(answer, RATE), "en").text
        assert len(words(text) & words(CLIP_WORDS)) >= 4, text

    asyncio.run(talk())


def test_speech_during_an_answer_stops_the_track_and_truncates_the_item(live: Live) -> None:
    async def talk() -> None:
        call = await open_call(live.url, live.key)
        try:
            await call.until("session.created")
            call.send(
                "conversation.item.create",
                item={
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": LONG_TEXT}],
                },
            )
            call.send("response.create")
            await call.until("output_audio_buffer.started", within=60)
            await asyncio.sleep(1.5)
            call.mic.say(speech_clip())
            await call.until("input_audio_buffer.speech_started", within=30)
            done = await call.until("response.done", within=30)
            cleared = await call.until("output_audio_buffer.cleared", within=5)
            truncated = await call.until("conversation.item.truncated", within=5)
            await asyncio.sleep(1.0)
            answer = call.audio()
        finally:
            await call.pc.close()
        assert done["response"]["status"] == "cancelled"
        assert cleared["response_id"] == done["response"]["id"]
        assert 1000 < truncated["audio_end_ms"] < 6000
        # the answer track went quiet: the last second holds no answer
        assert not loud(answer[-RATE // 2 :]).any()

    asyncio.run(talk())


def test_calls_are_admitted_like_sessions_and_hung_up_by_their_owner(live: Live) -> None:
    async def calls() -> None:
        first = await open_call(live.url, live.key)
        second = await open_call(live.url, live.key)
        try:
            with pytest.raises(CallRefused) as refused:
                await open_call(live.url, live.key)
            assert refused.value.status == 429
            assert refused.value.body["error"] == "too_many_sessions"
            call_id = first.location.rsplit("/", 1)[1]
            async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
                other = {"Authorization": f"Bearer {live.new_key()}"}
                r = await http.post(f"/v1/realtime/calls/{call_id}/hangup", headers=other)
                assert r.status_code == 404, r.text
                mine = {"Authorization": f"Bearer {live.key}"}
                r = await http.post(f"/v1/realtime/calls/{call_id}/hangup", headers=mine)
                assert r.status_code == 200, r.text
            for _ in range(50):  # the hung-up call frees its session slot
                await asyncio.sleep(0.1)
                try:
                    third = await open_call(live.url, live.key)
                except CallRefused:
                    continue
                await third.pc.close()
                break
            else:
                raise AssertionError("the hung-up call still holds its session")
        finally:
            await first.pc.close()
            await second.pc.close()

    asyncio.run(calls())


@pytest.mark.parametrize(
    ("request_kwargs", "status", "field"),
    [
        ({"content": "hello", "headers": {"Content-Type": "application/sdp"}}, 400, "sdp"),
        ({"content": "v=0\r\n" + "a=x\r\n" * 20000}, 413, "sdp"),
        ({"files": {"session": (None, "{}")}}, 400, "sdp"),
        ({"files": {"sdp": (None, "v=0\r\n"), "session": (None, "[1]")}}, 400, "session"),
        ({"json": {"sdp": "v=0"}}, 400, "sdp"),
        ({"content": "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"}, 400, "sdp"),
    ],
)
def test_a_bad_offer_is_refused_naming_the_problem(
    live: Live, request_kwargs: dict, status: int, field: str
) -> None:
    headers = {"Authorization": f"Bearer {live.key}", **request_kwargs.pop("headers", {})}
    r = httpx.post(f"{live.url}/v1/realtime/calls", headers=headers, timeout=30, **request_kwargs)
    assert r.status_code == status, r.text
    assert r.json()["details"].get("field") == field, r.json()


def test_a_call_needs_a_key(live: Live) -> None:
    r = httpx.post(f"{live.url}/v1/realtime/calls", content="v=0\r\n", timeout=30)
    assert r.status_code == 401
    r = httpx.post(
        f"{live.url}/v1/realtime/calls/rtc_x/hangup",
        headers={"Authorization": "Bearer vx_wrong"},
        timeout=30,
    )
    assert r.status_code == 401
