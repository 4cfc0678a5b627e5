"""GET /v1/usage and GET /v1/admin/usage through HTTP, and the speech services metered by the
same record step: the numbers equal what the test sent, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf
from starlette.testclient import TestClient

from tests.conftest import ADMIN_KEY, EVAL_SPEECH, fake_registry, tone_wav, wait_for_job
from voxclone.api.app import create_app
from voxclone.config import Settings
from voxclone.core.types import new_id
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import Services, build_services
from voxclone.services.usage import UsageRecord

SPEECH = EVAL_SPEECH / "librispeech_test-other/1688/1688-142285-0003.flac"  # 5.1 s
OTHER_SPEECH = EVAL_SPEECH / "librispeech_test-other/1998/1998-15444-0001.flac"  # 6.0 s


def seconds_of(data: bytes) -> float:
    info = sf.info(io.BytesIO(data))
    return float(info.frames / info.samplerate)


def wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV")
    return buf.getvalue()


@pytest.fixture
def registry() -> EngineRegistry:
    registry = fake_registry()
    registry.register(
        EngineSpec("whisper", "voxclone.engines.fake_stt:FakeTranscriber", kind="stt")
    )
    registry.register(
        EngineSpec("deepfilternet", "tests.speech_fakes:IdentityDenoiser", kind="denoise")
    )
    registry.register(
        EngineSpec("resemblyzer", "tests.speech_fakes:OneVoiceEmbedder", kind="embed")
    )
    return registry


async def key(new_key: Any, label: str) -> tuple[dict[str, str], str]:
    headers: dict[str, str] = await new_key(label)
    return headers, headers.pop("_key_id")


async def usage(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> Any:
    r = await client.get("/v1/usage", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


# --- the report ---------------------------------------------------------------------------------


async def test_usage_reports_what_was_recorded_per_backend_and_day(
    client: httpx.AsyncClient, services: Services, new_key: Any
) -> None:
    alice, alice_id = await key(new_key, "alice")
    _, bob_id = await key(new_key, "bob")
    voice = new_id()
    record = services.usage.record
    await record(
        UsageRecord(
            key_id=alice_id,
            kind="tts",
            entry="sync",
            backend="kokoro",
            voice_id=voice,
            characters=42,
            audio_out_s=3.5,
        )
    )
    await record(
        UsageRecord(
            key_id=alice_id,
            kind="tts",
            entry="openai",
            backend="kokoro",
            voice_id=voice,
            audio_out_s=3.5,
            cache_hit=True,
        )
    )
    await record(
        UsageRecord(key_id=alice_id, kind="stt", entry="openai", backend="whisper", audio_in_s=8)
    )
    await record(UsageRecord(key_id=bob_id, kind="tts", entry="sync", characters=1_000))

    body = await usage(client, alice)

    today = datetime.now(UTC).date().isoformat()
    assert body["key_id"] == alice_id
    totals = {"characters": 42, "audio_out_s": 7.0, "audio_in_s": 8.0, "requests": 3}
    assert body["totals"] == {**totals, "cache_hits": 1}
    assert body["by_day"] == [{"day": today, **totals, "cache_hits": 1}]
    assert body["by_backend"] == [
        {"backend": "kokoro", "characters": 42, "audio_out_s": 7.0, "audio_in_s": 0.0}
        | {"requests": 2, "cache_hits": 1},
        {"backend": "whisper", "characters": 0, "audio_out_s": 0.0, "audio_in_s": 8.0}
        | {"requests": 1, "cache_hits": 0},
    ]
    assert body["by_voice"] is None and body["by_key"] is None
    now = datetime.now(UTC)
    month = datetime(now.year, now.month, 1, tzinfo=UTC)
    assert datetime.fromisoformat(body["from"]) == month
    assert body["quota"]["quota"] is None and body["quota"]["left"] is None  # unlimited
    assert body["quota"]["used"] == 42
    assert body["quota"]["resets_at"] == body["to"] == body["quota"]["period_end"]

    by_voice = await usage(client, alice, group_by="voice")
    assert [(g["voice_id"], g["requests"]) for g in by_voice["by_voice"]] == [
        (None, 1),
        (voice, 2),
    ]
    assert by_voice["by_day"] is None
    kinds = await usage(client, alice, group_by="kind,day")
    assert [g["kind"] for g in kinds["by_kind"]] == ["stt", "tts"]


async def test_from_and_to_choose_the_range(
    client: httpx.AsyncClient, services: Services, new_key: Any
) -> None:
    alice, alice_id = await key(new_key, "alice")
    await services.usage.record(
        UsageRecord(key_id=alice_id, kind="tts", entry="sync", characters=9)
    )
    today = datetime.now(UTC).date()
    body = await usage(client, alice, **{"from": str(today), "to": str(today)})
    assert body["totals"]["characters"] == 9  # a date as `to` includes that day
    assert datetime.fromisoformat(body["to"]) - datetime.fromisoformat(body["from"]) == (
        timedelta(days=1)
    )
    yesterday = await usage(
        client, alice, **{"from": str(today - timedelta(days=1)), "to": f"{today}T00:00:00Z"}
    )
    assert yesterday["totals"]["characters"] == 0 and yesterday["by_day"] == []
    naive = await usage(client, alice, **{"from": f"{today}T00:00:00", "to": str(today)})
    assert datetime.fromisoformat(naive["from"]).utcoffset() == timedelta(0)  # read as UTC


async def test_the_period_is_the_keys_billing_window(
    client: httpx.AsyncClient, services: Services, new_key: Any, admin_headers: dict[str, str]
) -> None:
    alice, alice_id = await key(new_key, "alice")
    now = datetime.now(UTC)
    start, end = now - timedelta(days=3), now + timedelta(days=27)
    await services.keys.update(key_id=alice_id, period_start=start, period_end=end)
    r = await client.patch(
        f"/v1/keys/{alice_id}", json={"monthly_char_quota": 100}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    await services.usage.record(
        UsageRecord(key_id=alice_id, kind="tts", entry="sync", characters=30)
    )

    body = await usage(client, alice)
    assert datetime.fromisoformat(body["from"]) == start
    assert datetime.fromisoformat(body["to"]) == end
    assert body["quota"] == {
        "period_start": body["from"],
        "period_end": body["to"],
        "quota": 100,
        "used": 30,
        "left": 70,
        "resets_at": body["to"],
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-12-05", "to": "2026-12-01"}, "from"),
        ({"from": "2026-12-01T10:00:00Z", "to": "2026-12-01T10:00:00Z"}, "from"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"group_by": "colour"}, "group_by"),
        ({"group_by": "key"}, "group_by"),  # the admin's only
    ],
)
async def test_bad_parameters_are_a_422_naming_the_field(
    client: httpx.AsyncClient, user: dict[str, str], params: dict[str, str], field: str
) -> None:
    r = await client.get("/v1/usage", params=params, headers=user)
    assert r.status_code == 422, r.text
    assert r.json()["details"]["field"] == field


async def test_admin_sees_every_key_and_users_only_their_own(
    client: httpx.AsyncClient, services: Services, new_key: Any, admin_headers: dict[str, str]
) -> None:
    alice, alice_id = await key(new_key, "alice")
    bob, bob_id = await key(new_key, "bob")
    for key_id, characters in ((alice_id, 5), (bob_id, 7), (bob_id, 11)):
        await services.usage.record(
            UsageRecord(key_id=key_id, kind="tts", entry="sync", characters=characters)
        )

    assert (await usage(client, alice))["totals"]["characters"] == 5
    assert (await usage(client, bob))["totals"]["characters"] == 18

    r = await client.get("/v1/admin/usage", headers=admin_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["key_id"] is None and body["quota"] is None
    assert body["totals"]["characters"] == 23
    assert sorted((g["key_id"], g["characters"], g["requests"]) for g in body["by_key"]) == sorted(
        [(alice_id, 5, 1), (bob_id, 18, 2)]
    )
    r = await client.get(
        "/v1/admin/usage",
        params={"key_id": bob_id, "group_by": "backend"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["key_id"] == bob_id and r.json()["totals"]["characters"] == 18
    assert r.json()["by_backend"][0]["backend"] == ""

    assert (await client.get("/v1/admin/usage", headers=alice)).status_code == 403
    assert (await client.get("/v1/usage", headers=admin_headers)).status_code == 403
    assert (await client.get("/v1/usage")).status_code == 401
    r = await client.get("/v1/admin/usage", params={"key_id": "nope"}, headers=admin_headers)
    assert r.status_code == 400 and r.json()["details"]["field"] == "key_id"


# --- speech services, metered -------------------------------------------------------------------


async def test_transcriptions_bill_the_seconds_heard(
    client: httpx.AsyncClient, new_key: Any
) -> None:
    alice, _ = await key(new_key, "alice")
    r = await client.post(
        "/v1/audio/transcriptions",
        data={"model": "whisper-1"},
        files={"file": ("a.wav", tone_wav(2.5), "audio/wav")},
        headers=alice,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        "/v1/transcribe", files={"audio": ("a.wav", tone_wav(1.25), "audio/wav")}, headers=alice
    )
    assert r.status_code == 200, r.text
    silent = np.zeros(16000, dtype=np.float32)  # the fake engine fails on silence: not billed
    r = await client.post(
        "/v1/transcribe", files={"audio": ("s.wav", wav(silent), "audio/wav")}, headers=alice
    )
    assert r.status_code >= 400

    body = await usage(client, alice)
    assert body["by_backend"] == [
        {"backend": "whisper", "characters": 0, "audio_out_s": 0.0, "audio_in_s": 3.75}
        | {"requests": 2, "cache_hits": 0}
    ]


async def test_denoising_a_file_bills_its_seconds_in_and_out(
    client: httpx.AsyncClient, new_key: Any
) -> None:
    alice, _ = await key(new_key, "alice")
    r = await client.post(
        "/v1/audio/denoise", files={"file": ("a.wav", tone_wav(2.0), "audio/wav")}, headers=alice
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        "/v1/audio/denoise",
        data={"format": "docx"},
        files={"file": ("a.wav", tone_wav(2.0), "audio/wav")},
        headers=alice,
    )
    assert r.status_code == 422  # not billed

    body = await usage(client, alice, group_by="kind")
    assert body["by_kind"] == [
        {"kind": "denoise", "characters": 0, "audio_out_s": 2.0, "audio_in_s": 2.0}
        | {"requests": 1, "cache_hits": 0}
    ]


async def test_biometrics_bill_the_clip_seconds_and_a_job_once(
    client: httpx.AsyncClient, services: Services, new_key: Any
) -> None:
    alice, alice_id = await key(new_key, "alice")
    speech, other = SPEECH.read_bytes(), OTHER_SPEECH.read_bytes()
    files = {"audio": ("a.flac", speech, "audio/flac")}
    r = await client.post("/v1/speakers", data={"name": "ann"}, files=files, headers=alice)
    assert r.status_code == 201, r.text
    speaker_id = r.json()["speaker_id"]
    r = await client.post(f"/v1/speakers/{speaker_id}/enrollments", files=files, headers=alice)
    assert r.status_code == 201, r.text
    other_files = {"audio": ("b.flac", other, "audio/flac")}
    r = await client.post(f"/v1/speakers/{speaker_id}/verify", files=other_files, headers=alice)
    assert r.status_code == 200, r.text
    r = await client.post("/v1/speakers/identify", files=other_files, headers=alice)
    assert r.status_code == 200, r.text
    r = await client.post(f"/v1/speakers/{new_id()}/verify", files=files, headers=alice)
    assert r.status_code == 404  # not billed
    r = await client.post("/v1/biometrics/jobs", files=other_files, headers=alice)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert (await wait_for_job(client, job_id, alice))["status"] == "ready"

    expected = 2 * seconds_of(speech) + 3 * seconds_of(other)
    body = await usage(client, alice)
    assert body["by_backend"] == [
        {"backend": "resemblyzer", "characters": 0, "audio_out_s": 0.0}
        | {"audio_in_s": round(expected, 3), "requests": 5, "cache_hits": 0}
    ]
    # the job's act again (a retried job): still counted once
    await services.usage.record(
        UsageRecord(
            key_id=alice_id,
            kind="biometrics",
            entry="job",
            audio_in_s=seconds_of(other),
            event_key=f"job:{job_id}",
        )
    )
    assert (await usage(client, alice))["totals"]["requests"] == 5


# --- the denoise WebSocket ----------------------------------------------------------------------


@pytest.fixture
def ws_client(settings: Settings, registry: EngineRegistry) -> Iterator[TestClient]:
    with TestClient(create_app(services=build_services(settings, engines=registry))) as client:
        yield client


def test_a_denoise_stream_is_billed_once_when_it_ends(ws_client: TestClient) -> None:
    r = ws_client.post("/v1/keys", json={}, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['api_key']}"}
    rate, chunks = 16000, [4000, 333, 12000, 7]
    with ws_client.websocket_connect("/v1/audio/denoise/ws", headers=headers) as ws:
        ws.send_text(json.dumps({"type": "start", "sample_rate": rate}))
        assert ws.receive_json()["type"] == "started"
        for size in chunks:
            ws.send_bytes(np.full(size, 0.1, dtype="<f4").tobytes())
            ws.receive_bytes()
        ws.send_text(json.dumps({"type": "stop"}))
        done = ws.receive_json()
        assert done["type"] == "done" and done["samples_in"] == sum(chunks)

    r = ws_client.get("/v1/usage", params={"group_by": "kind"}, headers=headers)
    assert r.status_code == 200, r.text
    [denoise] = r.json()["by_kind"]
    seconds = round(sum(chunks) / rate, 3)
    assert (denoise["kind"], denoise["requests"]) == ("denoise", 1)
    assert (denoise["audio_in_s"], denoise["audio_out_s"]) == (seconds, seconds)
