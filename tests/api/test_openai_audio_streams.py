"""Streams of OpenAI's audio endpoints with test engines: transcription events, a failure after
the first event, translation refused by an engine that cannot translate, and the voices list."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import tone_wav
from voxclone.engines.registry import EngineRegistry, EngineSpec


@pytest.fixture
def registry() -> EngineRegistry:
    return EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
            EngineSpec(
                "whisper",
                "voxclone.engines.fake_stt:FakeTranscriber",
                kind="stt",
                options={"text": "one two three four five six"},
            ),
        ]
    )


def events(body: str) -> list[dict[str, object]]:
    return [json.loads(b.removeprefix("data: ")) for b in body.strip("\n").split("\n\n")]


def silence() -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(3 * 16000, np.float32), 16000, format="WAV")
    return buf.getvalue()


async def transcribe(client, user, audio: bytes, path: str = "transcriptions", **data: str):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/v1/audio/{path}", files={"file": ("a.wav", audio)}, data=data, headers=user
    )


async def test_an_engine_without_segment_callbacks_sends_one_delta(client, user) -> None:
    r = await transcribe(client, user, tone_wav(3.0), stream="true")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    got = events(r.text)
    assert got == [
        {"type": "transcript.text.delta", "delta": "one two three four five six"},
        {"type": "transcript.text.done", "text": "one two three four five six"},
    ]


async def test_a_failure_after_the_headers_is_an_error_event(client, user) -> None:
    r = await transcribe(client, user, silence(), stream="true", response_format="text")
    assert r.status_code == 200
    last = events(r.text)[-1]
    assert last["type"] == "error"
    assert last["error"] == {
        "code": "engine_error",
        "message": "engine 'whisper' heard only silence",
    }


async def test_stream_flag_must_be_a_boolean(client, user) -> None:
    r = await transcribe(client, user, tone_wav(3.0), stream="often")
    assert r.status_code == 400 and r.json()["details"]["field"] == "stream"


async def test_an_engine_that_cannot_translate_is_refused(client, user) -> None:
    r = await transcribe(client, user, tone_wav(3.0), path="translations")
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "unsupported_language"
    assert "cannot translate" in r.json()["message"]


async def test_translation_refuses_a_bad_response_format(client, user) -> None:
    r = await transcribe(client, user, tone_wav(3.0), path="translations", response_format="xml")
    assert r.status_code == 400 and r.json()["details"]["field"] == "response_format"


async def test_audio_voices_lists_the_keys_ready_voices_first(client, user) -> None:
    made = await client.post(
        "/v1/voices",
        data={"name": "Narrator", "ref_text": "hello there"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    assert made.status_code == 201, made.text
    r = await client.get("/v1/audio/voices", headers=user)
    assert r.status_code == 200, r.text
    first = r.json()["voices"][0]
    assert first["id"] == made.json()["voice_id"] and first["name"] == "Narrator"
    assert first["category"] == "cloned" and first["object"] == "voice"
