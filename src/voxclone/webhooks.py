"""Signing and verifying voxclone's outbound webhooks (standard library only).

Every delivery carries ``X-Voxclone-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is the
HMAC-SHA256, keyed with the API key's webhook secret, of ``f"{t}.".encode() + body``. A receiver
checks it with ``verify`` before trusting the body::

    from voxclone.webhooks import verify

    verify(request_body, request.headers["X-Voxclone-Signature"], secret)  # ValueError if not

The timestamp is covered by the signature, so an old delivery replayed later is refused once it
is older than ``tolerance_s``.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Voxclone-Signature"
EVENT_HEADER = "X-Voxclone-Event"
DELIVERY_HEADER = "X-Voxclone-Delivery"


class SignatureError(ValueError):
    """The signature header is missing, malformed, stale, or does not match the body."""


def _digest(body: bytes, secret: str, timestamp: int) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``X-Voxclone-Signature`` value for ``body``: ``t=<unix>,v1=<hex>`` (now by default)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={_digest(body, secret, t)}"


def verify(body: bytes, header: str, secret: str, tolerance_s: float = 300) -> None:
    """Return if ``header`` signs ``body`` with ``secret`` within ``tolerance_s`` of now;
    raise SignatureError otherwise. Any one of several ``v1`` values may match (a header may
    carry more than one); the comparison takes constant time."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in (header or "").split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError(f"signature timestamp {value!r} is not a number") from None
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError(f"malformed signature header {header!r}: want t=<unix>,v1=<hex>")
    age = time.time() - timestamp
    if abs(age) > tolerance_s:
        raise SignatureError(
            f"signature timestamp is {age:.0f} s from now, beyond the tolerance of {tolerance_s} s"
        )
    expected = _digest(body, secret, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureError("signature does not match the body and secret")
