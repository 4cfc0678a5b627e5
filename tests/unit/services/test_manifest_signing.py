"""Canonical JSON, Ed25519 manifest signatures, and where the signing key comes from."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from voxclone.services.manifest_signing import (
    KEY_FILE,
    ManifestSigner,
    canonical_json,
    ensure_signing_key,
    verify_manifest,
)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": {"d": None, "c": "é"}}) == (
        '{"a":{"c":"é","d":null},"b":1}'.encode()
    )
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})


def test_canonical_json_refuses_floats() -> None:
    with pytest.raises(ValueError, match="floats"):
        canonical_json({"a": [1, 0.5]})


def test_a_signature_verifies_and_breaks_on_any_change() -> None:
    signer = ManifestSigner(Ed25519PrivateKey.generate())
    signed = signer.sign({"x": "1", "n": 2, "signature": "ignored"})
    assert signed["signature"]["alg"] == "Ed25519" and signed["signature"]["kid"] == signer.key_id
    assert signer.verify(signed)
    assert signer.verify(dict(reversed(list(signed.items()))))  # member order is irrelevant
    assert not signer.verify({**signed, "n": 3})
    assert not signer.verify({**signed, "extra": True})
    assert not signer.verify({k: v for k, v in signed.items() if k != "signature"})
    assert not signer.verify({**signed, "signature": {**signed["signature"], "value": "AAAA"}})
    assert not signer.verify({**signed, "signature": {**signed["signature"], "alg": "RS256"}})
    other = ManifestSigner(Ed25519PrivateKey.generate())
    assert not verify_manifest(other.public_key, signed)
    assert not signer.verify({**signed, "x": 1.5})  # a float cannot be canonical: invalid


def test_a_configured_key_is_pem_or_base64_raw_bytes(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    expected = ManifestSigner(key).key_id
    for configured in (pem, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        loaded, generated = ensure_signing_key(tmp_path, configured)
        assert ManifestSigner(loaded).key_id == expected and not generated
    assert not (tmp_path / KEY_FILE).exists()
    for bad in ("not a key", base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError, match="SIGNING_KEY"):
            ensure_signing_key(tmp_path, bad)
    made, generated = ensure_signing_key(tmp_path, None)
    again, generated_again = ensure_signing_key(tmp_path, None)
    assert generated and not generated_again
    assert ManifestSigner(made).key_id == ManifestSigner(again).key_id
