"""Spoken consent with the real engines (Whisper hears the phrase, the Resemblyzer embedder
compares the speaker with the voice's reference), on real recordings: VCTK speakers p225 and
p226 read the same sentences, so one sentence can be the phrase, said by the voice's owner, by
someone else, and the owner can say another sentence instead."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY, make_settings
from tests.e2e.test_piper_end_to_end import EVAL_SPEECH
from voxclone.api.app import create_app
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services import consent as consent_module
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine

with (EVAL_SPEECH / "manifest.csv").open() as manifest:
    ROWS = {r["path"]: r for r in csv.DictReader(manifest)}
REFERENCE = "vctk/p225/p225_023.wav"  # the voice: p225
PHRASE_BY_OWNER = "vctk/p225/p225_019.wav"
PHRASE_BY_OTHER = "vctk/p226/p226_019.wav"  # the same sentence, another speaker
OTHER_SENTENCE_BY_OWNER = "vctk/p225/p225_021.wav"


def clip(path: str) -> tuple[str, bytes, str]:
    return (Path(path).name, (EVAL_SPEECH / path).read_bytes(), "audio/wav")


@pytest.fixture
async def client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        tmp_path / "data",
        database_url=database_url,
        default_backend="piper",
        consent={"required": True},
    )
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=120) as c:
            yield c


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    r = await client.post("/v1/keys", json={"label": "owner"}, headers={"X-API-Key": ADMIN_KEY})
    user = {"Authorization": f"Bearer {r.json()['api_key']}"}
    r = await client.post(
        "/v1/voices",
        data={"name": "p225", "backend": "piper", "ref_text": ROWS[REFERENCE]["transcript"]},
        files={"ref_audio": clip(REFERENCE)},
        headers=user,
    )
    assert r.status_code == 201, r.text
    return user, str(r.json()["voice_id"])


async def challenge(
    client: httpx.AsyncClient, user: dict[str, str], voice: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A challenge whose phrase is the sentence the recordings say (a real phrase is random)."""
    sentence = ROWS[PHRASE_BY_OWNER]["transcript"]
    monkeypatch.setattr(consent_module, "new_phrase", lambda: sentence)
    r = await client.post(f"/v1/voices/{voice}/consent/challenge", headers=user)
    assert r.status_code == 201, r.text
    assert r.json()["phrase"] == sentence
    return str(r.json()["consent_id"])


async def test_a_required_consent_blocks_the_voice_until_the_owner_says_the_phrase(
    client: httpx.AsyncClient, owner: tuple[dict[str, str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, voice = owner
    r = await client.post(f"/v1/text-to-speech/{voice}", json={"text": "Hello."}, headers=user)
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "consent_required"
    assert f"/v1/voices/{voice}/consent/challenge" in r.json()["message"]
    # A recording with no challenge open is refused.
    r = await client.post(
        f"/v1/voices/{voice}/consent", files={"audio": clip(PHRASE_BY_OWNER)}, headers=user
    )
    assert r.status_code == 409, r.text
    # Stock voices need no consent.
    r = await client.post("/v1/text-to-speech/en_US-joe-medium", json={"text": "Hi."}, headers=user)
    assert r.status_code == 200, r.text

    consent_id = await challenge(client, user, voice, monkeypatch)
    r = await client.post(
        f"/v1/voices/{voice}/consent",
        data={"consent_id": consent_id},
        files={"audio": clip(PHRASE_BY_OWNER)},
        headers=user,
    )
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["status"] == "accepted"
    assert record["word_error_rate"] <= 0.25
    assert record["speaker_score"] >= record["speaker_threshold"]
    assert len(record["recording_sha256"]) == 64
    r = await client.post(f"/v1/text-to-speech/{voice}", json={"text": "Hello."}, headers=user)
    assert r.status_code == 200, r.text
    # The record is kept; the challenge cannot be answered twice.
    r = await client.get(f"/v1/voices/{voice}/consent", headers=user)
    assert [c["status"] for c in r.json()] == ["accepted"]
    r = await client.post(
        f"/v1/voices/{voice}/consent", files={"audio": clip(PHRASE_BY_OWNER)}, headers=user
    )
    assert r.status_code == 409


async def test_another_speaker_or_another_sentence_is_refused_and_recorded(
    client: httpx.AsyncClient, owner: tuple[dict[str, str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, voice = owner
    await challenge(client, user, voice, monkeypatch)
    r = await client.post(
        f"/v1/voices/{voice}/consent", files={"audio": clip(PHRASE_BY_OTHER)}, headers=user
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "consent_rejected"
    assert "the speaker is not the voice's" in r.json()["message"]
    assert r.json()["details"]["speaker_score"] < r.json()["details"]["speaker_threshold"]

    await challenge(client, user, voice, monkeypatch)
    r = await client.post(
        f"/v1/voices/{voice}/consent", files={"audio": clip(OTHER_SENTENCE_BY_OWNER)}, headers=user
    )
    assert r.status_code == 422, r.text
    assert "does not say the phrase" in r.json()["message"]
    assert r.json()["details"]["word_error_rate"] > 0.25

    records = (await client.get(f"/v1/voices/{voice}/consent", headers=user)).json()
    assert [c["status"] for c in records] == ["rejected", "rejected"]
    r = await client.post(f"/v1/text-to-speech/{voice}", json={"text": "Hello."}, headers=user)
    assert r.status_code == 403  # still no consent
