"""The watermark over HTTP with the real Piper engine, on both databases: a cloned voice's
audio carries its history item, found again after MP3/Opus re-encoding and a trim by
POST /v1/watermark/detect and in POST /v1/provenance/verify's answer; another key learns only
that this deployment made it; a streamed synthesis is marked too; stock voices are not (by
default); bad uploads are refused; the off switch takes it all away."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf

from tests.api.test_admission import make_key
from tests.conftest import make_settings, wait_for_job
from tests.e2e.test_piper_end_to_end import EVAL_SPEECH
from tests.watermark_attacks import mp3_64k, opus_64k, trim
from voxclone.api.app import create_app
from voxclone.audio import decode_audio, encode_audio
from voxclone.audio import watermark as mark
from voxclone.core.types import Audio
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine

TEXT = (
    "The quarterly report arrived on a grey Tuesday morning. Nobody had expected the numbers "
    "to look this good, and the whole team read them twice before anyone said a word."
)
REFERENCE = "vctk/p225/p225_023.wav"


async def _client(tmp_path: Path, database_url: str, **overrides: Any) -> AsyncIterator[Any]:
    values: dict[str, Any] = {"watermark": {"enabled": True}, **overrides}
    settings = make_settings(
        tmp_path / "data", database_url=database_url, default_backend="piper", **values
    )
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=120) as c:
            yield c, services


@pytest.fixture
async def client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c, _ in _client(tmp_path, database_url):
        yield c


async def cloned_voice(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await client.post(
        "/v1/voices",
        data={"name": "p225", "backend": "piper", "ref_text": "reference"},
        files={"ref_audio": ("ref.wav", (EVAL_SPEECH / REFERENCE).read_bytes(), "audio/wav")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["voice_id"])


async def detect(client: httpx.AsyncClient, headers: dict[str, str], audio: bytes) -> Any:
    r = await client.post("/v1/watermark/detect", files={"file": ("a.bin", audio)}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def wav(audio: Audio) -> bytes:
    return encode_audio(audio, "wav")


def opus_copy(audio: Audio) -> bytes:
    """Through Opus at 64 kbit/s and back, sent as WAV."""
    return wav(opus_64k(audio))


async def test_a_cloned_voice_is_marked_and_found_again_after_re_encoding(client) -> None:
    owner, key_id = await make_key(client)
    voice = await cloned_voice(client, owner)
    r = await client.post(f"/v1/text-to-speech/{voice}", json={"text": TEXT}, headers=owner)
    assert r.status_code == 200, r.text
    item = (await client.get("/v1/history", headers=owner)).json()["items"][0]
    audio = decode_audio(r.content).audio
    assert audio.duration_s > 6
    for copy in (r.content, wav(mp3_64k(audio)), opus_copy(audio), wav(trim(0.05, 0.05)(audio))):
        found = await detect(client, owner, copy)
        assert found["detected"] is True and found["ours"] is True, found
        assert found["payload"]["history_id"] == item["history_id"]
        assert found["payload"]["history_prefix"] == item["history_id"][:8]
        assert found["history"]["history_id"] == item["history_id"]
        assert found["history"]["voice_id"] == voice and found["history"]["text"] == TEXT
        assert 0 < found["confidence"] <= 1
    # provenance: the exact bytes match by hash (the hash is of the marked audio), and a
    # re-encoded copy, which no longer does, is still named by its watermark
    exact = (
        await client.post(
            "/v1/provenance/verify", files={"file": ("a.wav", r.content)}, headers=owner
        )
    ).json()
    assert exact["generated"] is True and exact["history_id"] == item["history_id"]
    assert exact["watermark"]["payload"]["history_id"] == item["history_id"]
    copy = wav(mp3_64k(audio))
    moved = (
        await client.post("/v1/provenance/verify", files={"file": ("a.wav", copy)}, headers=owner)
    ).json()
    assert moved["generated"] is False
    assert moved["watermark"]["detected"] is True
    assert moved["watermark"]["history"]["history_id"] == item["history_id"]
    assert key_id


async def test_another_key_learns_only_that_this_deployment_made_it(client) -> None:
    owner, _ = await make_key(client)
    stranger, _ = await make_key(client)
    voice = await cloned_voice(client, owner)
    r = await client.post(f"/v1/text-to-speech/{voice}", json={"text": TEXT}, headers=owner)
    found = await detect(client, stranger, r.content)
    assert found["detected"] is True and found["ours"] is True
    assert found["history"] is None and found["payload"]["history_id"] is None
    assert "withheld" in found["reason"]


async def test_a_streamed_synthesis_is_marked_as_it_is_sent(client) -> None:
    owner, _ = await make_key(client)
    voice = await cloned_voice(client, owner)
    r = await client.post(f"/v1/text-to-speech/{voice}/stream", json={"text": TEXT}, headers=owner)
    assert r.status_code == 200, r.text
    samples, rate = sf.read(io.BytesIO(r.content), dtype="float32")  # the bytes as sent
    item = (await client.get("/v1/history", headers=owner)).json()["items"][0]
    found = await detect(client, owner, wav(Audio(samples, rate)))
    assert found["detected"] is True and found["history"]["history_id"] == item["history_id"]
    kept = (await client.get(f"/v1/history/{item['history_id']}/audio", headers=owner)).content
    assert (await detect(client, owner, kept))["payload"]["history_id"] == item["history_id"]


async def test_jobs_and_timed_syntheses_are_marked(client) -> None:
    owner, _ = await make_key(client)
    voice = await cloned_voice(client, owner)
    r = await client.post("/v1/synthesize", json={"voice_id": voice, "text": TEXT}, headers=owner)
    assert r.status_code == 202, r.text
    job = await wait_for_job(client, r.json()["job_id"], owner, timeout_s=120)
    audio = (await client.get(f"/v1/jobs/{job['job_id']}/audio", headers=owner)).content
    found = await detect(client, owner, audio)
    assert found["history"]["job_id"] == job["job_id"]

    timed = await client.post(
        f"/elevenlabs/v1/text-to-speech/{voice}/with-timestamps",
        json={"text": TEXT + " Twice."},
        headers=owner,
    )
    assert timed.status_code == 200, timed.text
    found = await detect(client, owner, base64.b64decode(timed.json()["audio_base64"]))
    assert found["detected"] is True and found["history"]["text"] == TEXT + " Twice."

    lines = await client.post(
        f"/elevenlabs/v1/text-to-speech/{voice}/stream/with-timestamps",
        json={"text": TEXT + " Thrice."},
        headers=owner,
    )
    assert lines.status_code == 200, lines.text
    sent = b"".join(
        base64.b64decode(json.loads(line)["audio_base64"])
        for line in lines.text.splitlines()
        if line.strip()
    )
    found = await detect(client, owner, sent)
    assert found["detected"] is True and found["history"]["text"] == TEXT + " Thrice."


async def test_stock_voices_and_unmarked_speech_are_not_detected(client) -> None:
    owner, _ = await make_key(client)
    voices = (
        await client.get("/v1/voices", params={"category": "stock", "limit": 1000}, headers=owner)
    ).json()
    stock = next(v["voice_id"] for v in voices if v["backend"] == "piper")
    r = await client.post(f"/v1/text-to-speech/{stock}", json={"text": TEXT}, headers=owner)
    assert r.status_code == 200, r.text
    assert mark.detect(decode_audio(r.content).audio).detected is False
    found = await detect(client, owner, (EVAL_SPEECH / REFERENCE).read_bytes())
    assert found == {
        "detected": False,
        "confidence": 0.0,
        "ours": False,
        "payload": None,
        "history": None,
        "reason": found["reason"],
    }


async def test_bad_uploads_are_refused(client) -> None:
    owner, _ = await make_key(client)
    r = await client.post(
        "/v1/watermark/detect", files={"file": ("a.wav", b"RIFF" + bytes(60))}, headers=owner
    )
    assert r.status_code == 422 and r.json()["error"] == "invalid_audio", r.text
    r = await client.post("/v1/watermark/detect", files={"other": ("a", b"x")}, headers=owner)
    assert r.status_code in (400, 422) and "file" in r.text
    r = await client.post("/v1/watermark/detect", files={"file": ("a.wav", b"x")})
    assert r.status_code == 401


async def test_stock_voices_are_marked_when_configured_and_nothing_when_off(
    tmp_path: Path, database_url: str
) -> None:
    async for c, services in _client(
        tmp_path / "on", database_url, watermark={"stock_voices": True, "deployment": 4242}
    ):
        owner, _ = await make_key(c)
        voices = (
            await c.get("/v1/voices", params={"category": "stock", "limit": 1000}, headers=owner)
        ).json()
        stock = next(v["voice_id"] for v in voices if v["backend"] == "piper")
        r = await c.post(f"/v1/text-to-speech/{stock}", json={"text": TEXT}, headers=owner)
        found = await detect(c, owner, r.content)
        assert found["detected"] is True and found["payload"]["deployment"] == 4242
        assert found["history"] is not None
    async for c, services in _client(tmp_path / "off", database_url, watermark={"enabled": False}):
        owner, _ = await make_key(c)
        voice = await cloned_voice(c, owner)
        r = await c.post(f"/v1/text-to-speech/{voice}", json={"text": TEXT}, headers=owner)
        assert mark.detect(decode_audio(r.content).audio).detected is False
        assert services.watermark is None and services.synthesis.renderer.marker is None
        r = await c.post("/v1/watermark/detect", files={"file": ("a", b"x")}, headers=owner)
        assert r.status_code == 404
        v = await c.post("/v1/provenance/verify", files={"file": ("a", r.content)}, headers=owner)
        assert v.json()["watermark"] is None
