"""Provenance: signed manifests of history items, verification of files, the public key
(docs/provenance.md). Mounted only when ``provenance.enabled``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.routing import NoMatchFound

from voxclone.api.deps import AnyKey, ServicesDep, UserKey
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.api.watermark_schemas import DetectResult, detect_result, request_urls
from voxclone.core.errors import AudioTooLarge, InvalidAudio, InvalidInput, MissingField
from voxclone.services.manifest_signing import ALGORITHM
from voxclone.services.provenance import ProvenanceService

router = APIRouter(tags=["provenance"])


class PublicKey(BaseModel):
    alg: str
    key_id: str
    pem: str
    """SubjectPublicKeyInfo PEM."""
    jwk: dict[str, str]


class VerifyResult(BaseModel):
    generated: bool
    """These exact bytes are audio this deployment generated."""
    history_id: str | None = None
    """Only for the caller's own items (or the admin)."""
    voice_id: str | None = None
    backend: str | None = None
    created_at: datetime | None = None
    manifest_valid: bool | None = None
    """Only when a manifest was sent: signed by this deployment and naming these bytes."""
    reason: str
    watermark: DetectResult | None = None
    """The watermark found in the audio (docs/watermark.md): it survives re-encoding and
    trimming, which the exact hash does not. None when the watermark is off or the file is
    not audio."""


def _service(services: ServicesDep) -> ProvenanceService:
    assert services.provenance is not None  # the router is mounted only when it is on
    return services.provenance


def manifest_url(request: Request, history_id: str) -> str | None:
    """Where the item's manifest is, when provenance is on (the route is mounted)."""
    try:
        return str(request.url_for("provenance_manifest", history_id=history_id))
    except NoMatchFound:
        return None


@router.get("/v1/history/{history_id}/manifest", name="provenance_manifest")
async def manifest(history_id: str, services: ServicesDep, user: UserKey) -> dict[str, Any]:
    """The signed provenance manifest of one of the key's history items."""
    assert user.key_id is not None
    return await _service(services).manifest(key_id=user.key_id, history_id=history_id)


@router.get("/v1/provenance/public-key", response_model=PublicKey)
async def public_key(services: ServicesDep) -> PublicKey:
    """This deployment's manifest-signing key (Ed25519), as PEM and JWK; no key needed."""
    signer = _service(services).signer
    return PublicKey(
        alg=ALGORITHM, key_id=signer.key_id, pem=signer.public_pem(), jwk=signer.public_jwk()
    )


@router.post("/v1/provenance/verify", response_model=VerifyResult)
async def verify(request: Request, services: ServicesDep, user: AnyKey) -> VerifyResult:
    """Multipart ``file`` (the audio) and optional ``manifest`` (its JSON, as a file or a text
    field): whether this deployment generated these exact bytes. Item details only for the
    caller's own items."""
    form = await read_form(
        request,
        max_file_bytes=services.settings.limits.max_speech_upload_bytes,
        too_large=AudioTooLarge,
        field="file",
    )
    try:
        audio = await read_upload(form, "file")
        raw = await read_upload(form, "manifest")
        if raw is None:
            text = text_field(form, "manifest")
            raw = text.encode() if text else None
    finally:
        await form.close()
    if not audio:
        raise MissingField("file is required: the audio to check", field="file")
    manifest = parse_manifest(raw) if raw is not None else None
    verdict = await _service(services).verify(caller=user, audio=audio, manifest=manifest)
    marked = None
    if services.watermark is not None:
        try:
            found = await services.watermark.detect(
                caller=user, data=audio, max_seconds=services.settings.limits.max_speech_audio_s
            )
            marked = detect_result(found, urls=request_urls(request))
        except InvalidAudio:  # not audio: the hash alone answers
            marked = None
    return VerifyResult(
        generated=verdict.generated,
        history_id=verdict.history_id,
        voice_id=verdict.voice_id,
        backend=verdict.backend,
        created_at=verdict.created_at,
        manifest_valid=verdict.manifest_valid,
        reason=verdict.reason,
        watermark=marked,
    )


def parse_manifest(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"manifest is not JSON: {exc}", field="manifest") from exc
    if not isinstance(value, dict):
        raise InvalidInput("manifest must be a JSON object", field="manifest")
    return value
