"""Ed25519 signing of provenance manifests over canonical JSON (docs/provenance.md).

Canonical JSON: keys sorted, no insignificant whitespace, UTF-8, no floats (the manifests hold
only strings, integers, booleans and null, so this matches RFC 8785 for them). The signature
covers the manifest without its ``signature`` member and is carried beside it, base64url.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "provenance_key.pem"
ALGORITHM = "Ed25519"


def canonical_json(value: Any) -> bytes:
    """The bytes a signature covers: sorted keys, compact, UTF-8; floats are refused."""
    _no_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _no_floats(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("canonical JSON here holds no floats")
    if isinstance(value, dict):
        for v in value.values():
            _no_floats(v)
    elif isinstance(value, list):
        for v in value:
            _no_floats(v)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """base64url or standard base64, padded or not."""
    text = text.replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ensure_signing_key(data_dir: Path, configured: str | None) -> tuple[Ed25519PrivateKey, bool]:
    """The deployment's key, and whether it was generated just now: a configured PEM wins;
    otherwise ``DATA_DIR/provenance_key.pem``, generated with mode 0600 on first start."""
    if configured:
        return _load(configured.encode()), False
    path = data_dir / KEY_FILE
    if path.exists():
        return _load(path.read_bytes()), False
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key, True


def _load(value: bytes) -> Ed25519PrivateKey:
    """A PKCS#8 PEM, or (one line, for .env files) the base64 of the 32-byte raw key."""
    if not value.strip().startswith(b"-----BEGIN"):
        try:
            return Ed25519PrivateKey.from_private_bytes(_unb64(value.strip().decode("ascii")))
        except ValueError as exc:
            raise ValueError(_BAD_KEY) from exc
    key = serialization.load_pem_private_key(value, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(_BAD_KEY)
    return key


_BAD_KEY = (
    "VOXCLONE_PROVENANCE__SIGNING_KEY must be an Ed25519 private key: PKCS#8 PEM, or the "
    "base64 of its 32 raw bytes"
)


class ManifestSigner:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key()
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.raw_public = raw
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]
        """Names this deployment's key (first 16 hex digits of the raw key's SHA-256)."""

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def public_jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64(self.raw_public), "kid": self.key_id}

    def sign(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with a ``signature`` member over its canonical JSON."""
        unsigned = {k: v for k, v in body.items() if k != "signature"}
        value = self._key.sign(canonical_json(unsigned))
        return {
            **unsigned,
            "signature": {"alg": ALGORITHM, "kid": self.key_id, "value": _b64(value)},
        }

    def verify(self, manifest: dict[str, Any]) -> bool:
        return verify_manifest(self.public_key, manifest)


def verify_manifest(public_key: Ed25519PublicKey, manifest: dict[str, Any]) -> bool:
    """Whether ``manifest``'s signature verifies with ``public_key`` (any malformation: no)."""
    sig = manifest.get("signature")
    if not isinstance(sig, dict) or sig.get("alg") != ALGORITHM:
        return False
    value = sig.get("value")
    if not isinstance(value, str):
        return False
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    try:
        public_key.verify(_unb64(value), canonical_json(unsigned))
    except (InvalidSignature, ValueError):
        return False
    return True
