"""Provenance: history items' signed manifests, "did this deployment generate this file?",
and the signing key (docs/provenance.md)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from voxclone.client import calls as c
from voxclone.client.calls import Call, FileInput, Op
from voxclone.client.models import Model
from voxclone.client.resource import AsyncResource, SyncResource, async_op, sync_op
from voxclone.client.watermark import Detection


class Verification(Model):
    generated: bool
    reason: str
    history_id: str | None = None
    voice_id: str | None = None
    backend: str | None = None
    created_at: datetime | None = None
    manifest_valid: bool | None = None
    watermark: Detection | None = None
    """The watermark found in the file (None: the watermark is off, or it is not audio)."""


class PublicKey(Model):
    alg: str
    key_id: str
    pem: str
    jwk: dict[str, str]


def manifest(history_id: str) -> Op[dict[str, Any]]:
    """The item's signed manifest, as the JSON object the server signed (keep it verbatim)."""
    response = yield from c.send(Call("GET", f"/v1/history/{history_id}/manifest"))
    value: dict[str, Any] = response.json()
    return value


def verify(audio: FileInput, *, manifest: dict[str, Any] | bytes | None = None) -> Op[Verification]:
    """Whether this deployment generated these exact bytes; ``manifest`` (a dict or its JSON)
    is checked against them and the deployment's key."""
    files = {"file": c.upload(audio, default_name="audio.wav")}
    if manifest is not None:
        raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        files["manifest"] = ("manifest.json", raw, "application/json")
    call = Call("POST", "/v1/provenance/verify", files=files, timeout=300)
    return (yield from c.model(call, Verification))


def public_key() -> Op[PublicKey]:
    return c.model(Call("GET", "/v1/provenance/public-key"), PublicKey)


class Provenance(SyncResource):
    manifest = sync_op(manifest)
    verify = sync_op(verify)
    public_key = sync_op(public_key)


class AsyncProvenance(AsyncResource):
    manifest = async_op(manifest)
    verify = async_op(verify)
    public_key = async_op(public_key)
