"""Provenance over HTTP: a history item's signed manifest (checked here with ``cryptography``
against the served public key), verification of files by their exact bytes, tampering, other
keys' privacy, the off switch. Real services on both databases, the fake engine."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.api.test_admission import add_voice, make_key
from tests.conftest import fake_registry, make_settings
from voxclone.api.app import create_app
from voxclone.services.container import build_services
from voxclone.services.manifest_signing import KEY_FILE, canonical_json

TEXT = "Hello there."


async def generated(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[bytes, str]:
    """Speak once: the audio and its history item's id."""
    voice_id = await add_voice(client, headers)
    r = await client.post(f"/v1/text-to-speech/{voice_id}", json={"text": TEXT}, headers=headers)
    assert r.status_code == 200, r.text
    items = (await client.get("/v1/history", headers=headers)).json()["items"]
    return r.content, items[0]["history_id"]


async def verify(
    client: httpx.AsyncClient, headers: dict[str, str], audio: bytes, manifest: Any = None
) -> Any:
    files: dict[str, Any] = {"file": ("a.wav", audio, "audio/wav")}
    if manifest is not None:
        files["manifest"] = ("m.json", json.dumps(manifest).encode(), "application/json")
    r = await client.post("/v1/provenance/verify", files=files, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def test_the_manifest_is_signed_and_names_the_item(client) -> None:
    headers, key_id = await make_key(client)
    audio, history_id = await generated(client, headers)
    r = await client.get(f"/v1/history/{history_id}/manifest", headers=headers)
    assert r.status_code == 200, r.text
    manifest = r.json()
    assert manifest["type"] == "voxclone.provenance/v1"
    assert manifest["history_id"] == history_id and manifest["key_id"] == key_id
    assert manifest["voice_id"] and manifest["backend"] == "fake"
    assert manifest["engine_version"] and manifest["created_at"].endswith("Z")
    assert manifest["audio"]["sha256"] == hashlib.sha256(audio).hexdigest()
    assert manifest["audio"]["bytes"] == len(audio)
    key = (await client.get("/v1/provenance/public-key")).json()
    public = serialization.load_pem_public_key(key["pem"].encode())
    assert isinstance(public, Ed25519PublicKey)
    assert key["jwk"]["crv"] == "Ed25519" and _unb64(key["jwk"]["x"]) == public.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    sig = manifest.pop("signature")
    assert sig["alg"] == "Ed25519" and sig["kid"] == key["key_id"] == manifest["issuer"]
    public.verify(_unb64(sig["value"]), canonical_json(manifest))  # raises when invalid


async def test_verify_matches_the_exact_bytes_only(client) -> None:
    headers, _ = await make_key(client)
    audio, history_id = await generated(client, headers)
    found = await verify(client, headers, audio)
    assert found["generated"] is True and found["history_id"] == history_id
    assert found["backend"] == "fake" and found["voice_id"] and found["created_at"]
    assert found["manifest_valid"] is None
    changed = bytearray(audio)
    changed[-1] ^= 1
    for other in (bytes(changed), b"RIFF" + bytes(100)):
        answer = await verify(client, headers, other)
        assert answer["generated"] is False and answer["history_id"] is None
        assert "re-encoded" in answer["reason"]


async def test_a_tampered_manifest_is_invalid(client) -> None:
    headers, _ = await make_key(client)
    audio, history_id = await generated(client, headers)
    manifest = (await client.get(f"/v1/history/{history_id}/manifest", headers=headers)).json()
    assert (await verify(client, headers, audio, manifest))["manifest_valid"] is True
    tampered = {**manifest, "voice_id": "someone-else"}
    answer = await verify(client, headers, audio, tampered)
    assert answer["manifest_valid"] is False and "does not verify" in answer["reason"]
    changed = bytearray(audio)
    changed[-1] ^= 1
    answer = await verify(client, headers, bytes(changed), manifest)
    assert answer["manifest_valid"] is False and answer["generated"] is False
    bad = await client.post(
        "/v1/provenance/verify",
        files={"file": ("a.wav", audio), "manifest": ("m.json", b"{nope")},
        headers=headers,
    )
    assert bad.status_code == 400 and "manifest" in bad.text
    missing = await client.post(
        "/v1/provenance/verify", files={"manifest": ("m.json", b"{}")}, headers=headers
    )
    assert missing.status_code in (400, 422) and "file" in missing.text


async def test_another_key_learns_only_that_it_was_generated(client, admin_headers) -> None:
    owner, _ = await make_key(client)
    stranger, _ = await make_key(client)
    audio, history_id = await generated(client, owner)
    answer = await verify(client, stranger, audio)
    assert answer["generated"] is True and "withheld" in answer["reason"]
    assert answer["history_id"] is answer["voice_id"] is answer["created_at"] is None
    r = await client.get(f"/v1/history/{history_id}/manifest", headers=stranger)
    assert r.status_code == 404
    assert (await verify(client, admin_headers, audio))["history_id"] == history_id


async def test_a_cache_hit_item_is_found_too(client) -> None:
    headers, _ = await make_key(client)
    voice_id = await add_voice(client, headers)
    for _ in range(2):
        r = await client.post(
            f"/v1/text-to-speech/{voice_id}", json={"text": TEXT}, headers=headers
        )
    hit = (await client.get("/v1/history", headers=headers)).json()["items"][0]
    assert hit["cache_hit"] is True
    assert (await verify(client, headers, r.content))["generated"] is True


async def test_the_key_is_kept_across_restarts_and_can_be_configured(tmp_path: Path) -> None:
    data = tmp_path / "d"
    first = build_services(make_settings(data), engines=fake_registry())
    assert first.provenance is not None and (data / KEY_FILE).stat().st_mode & 0o777 == 0o600
    again = build_services(make_settings(data), engines=fake_registry())
    assert again.provenance is not None
    assert again.provenance.signer.key_id == first.provenance.signer.key_id
    pem = (data / KEY_FILE).read_text()
    other = build_services(
        make_settings(tmp_path / "e", provenance={"signing_key": pem}), engines=fake_registry()
    )
    assert other.provenance is not None
    assert other.provenance.signer.key_id == first.provenance.signer.key_id
    assert not (tmp_path / "e" / KEY_FILE).exists()


async def test_off_means_no_routes_no_hashing(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        tmp_path / "off", database_url=database_url, provenance={"enabled": False}
    )
    services = build_services(settings, engines=fake_registry())
    assert services.provenance is None and services.history.hash_audio is False
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            headers, key_id = await make_key(client)
            _, history_id = await generated(client, headers)
            item = await services.history.get(key_id=key_id, history_id=history_id)
            assert item.audio_sha256 is None
            r = await client.get(f"/v1/history/{history_id}/manifest", headers=headers)
            assert r.status_code == 404
            assert (await client.get("/v1/provenance/public-key")).status_code == 404
    assert not (tmp_path / "off" / KEY_FILE).exists()


async def test_items_and_edits_point_at_their_manifest(client) -> None:
    headers, _ = await make_key(client)
    audio, history_id = await generated(client, headers)
    item = (await client.get(f"/v1/history/{history_id}", headers=headers)).json()
    assert item["manifest_url"].endswith(f"/v1/history/{history_id}/manifest")
    assert item["audio_sha256"] == hashlib.sha256(audio).hexdigest()
    body = {"source": {"history_id": history_id}, "operations": [{"op": "speed", "factor": 1.25}]}
    r = await client.post("/v1/audio/edit", params={"download": "true"}, json=body, headers=headers)
    assert r.status_code == 200, r.text
    edited = r.headers["X-History-Id"]
    assert r.headers["X-Provenance-Manifest"].endswith(f"/v1/history/{edited}/manifest")
    manifest = (await client.get(r.headers["X-Provenance-Manifest"], headers=headers)).json()
    assert manifest["audio"]["sha256"] == hashlib.sha256(r.content).hexdigest()
    assert manifest["entry"] == "edit"
    assert (await verify(client, headers, r.content))["history_id"] == edited
