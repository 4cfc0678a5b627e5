"""Opaque cursors for keyset pagination over ``(created_at, id)``, newest first."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from voxclone.core.errors import InvalidInput


def encode_cursor(created_at: datetime, item_id: str) -> str:
    raw = f"{created_at.isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, item_id = raw.split("|", 1)
        created = datetime.fromisoformat(at)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            f"cursor {cursor!r} is not one this server gave", field="cursor"
        ) from exc
    if created.tzinfo is None:
        raise InvalidInput(f"cursor {cursor!r} is not one this server gave", field="cursor")
    return created, item_id
