"""voxclone.webhooks: the signature a receiver checks."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from voxclone.webhooks import SignatureError, sign, verify

BODY = b'{"job_id": "j", "status": "ready"}'
SECRET = "whsec_test"


def test_a_signed_body_verifies() -> None:
    verify(BODY, sign(BODY, SECRET), SECRET)


def test_the_scheme_is_hmac_sha256_of_timestamp_dot_body() -> None:
    header = sign(BODY, SECRET, timestamp=1_700_000_000)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_a_stale_signature_is_refused() -> None:
    old = sign(BODY, SECRET, timestamp=int(time.time()) - 301)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(BODY, old, SECRET)
    verify(BODY, old, SECRET, tolerance_s=600)


@pytest.mark.parametrize(
    ("body", "secret"), [(BODY + b" ", SECRET), (BODY, "whsec_other")], ids=["body", "secret"]
)
def test_a_forged_signature_is_refused(body: bytes, secret: str) -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify(body, sign(BODY, SECRET), secret)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=12", "t=soon,v1=abc", "garbage"])
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(BODY, header, SECRET)


def test_any_of_several_v1_values_may_match() -> None:
    t = int(time.time())
    good = sign(BODY, SECRET, timestamp=t).split(",v1=")[1]
    verify(BODY, f"t={t},v1={'0' * 64},v1={good}", SECRET)


def test_signature_error_is_a_value_error() -> None:
    assert issubclass(SignatureError, ValueError)
