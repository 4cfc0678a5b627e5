"""A voice's profile (description, tags, labels) and the search over a key's voices.

Tags are short words to file voices under: trimmed, lower-cased, without commas (a form may
send them comma-separated), duplicates dropped, at most ``MAX_TAGS`` of at most
``MAX_TAG_CHARS`` characters. Labels are ElevenLabs' ``labels``: a flat map of strings
(accent, age, gender, use case...), at most ``MAX_LABELS`` entries. Anything out of bounds is
refused with ``InvalidMetadata`` naming the field (422), before anything is stored.

Listing is keyset-paginated: the cursor carries the sort, the direction and the last voice's
(sort value, id), so pages stay consistent while voices are added or removed.
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.errors import InvalidInput, InvalidMetadata
from voxclone.db import voices as voice_queries
from voxclone.db.tables import Voice

MAX_DESCRIPTION_CHARS = 2000
MAX_TAGS = 20
MAX_TAG_CHARS = 50
MAX_LABELS = 20
MAX_LABEL_KEY_CHARS = 50
MAX_LABEL_VALUE_CHARS = 200
MAX_SEARCH_CHARS = 200
SORTS = voice_queries.VOICE_SORTS
ORDERS = ("asc", "desc")


@dataclass(frozen=True, slots=True)
class VoiceProfile:
    """Checked profile fields, ready to store (see ``clean_profile``)."""

    description: str | None = None
    tags: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    def columns(self) -> dict[str, Any]:
        return {"description": self.description, "tags": self.tags, "labels": self.labels}


def clean_description(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise InvalidMetadata(
            f"description is {len(text)} characters long; at most {MAX_DESCRIPTION_CHARS} "
            "are allowed",
            field="description",
        )
    _refuse_control(text, field="description", allow_newlines=True)
    return text or None


def clean_tags(values: Iterable[Any]) -> list[str]:
    tags: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise InvalidMetadata(f"tags must be strings, got {value!r}", field="tags")
        tag = " ".join(value.split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise InvalidMetadata(
                f"tag {tag[:MAX_TAG_CHARS]!r}... is {len(tag)} characters long; at most "
                f"{MAX_TAG_CHARS} are allowed",
                field="tags",
            )
        if "," in tag:
            raise InvalidMetadata(f"tag {tag!r} contains a comma", field="tags")
        _refuse_control(tag, field="tags")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidMetadata(
            f"{len(tags)} tags given; at most {MAX_TAGS} are allowed", field="tags"
        )
    return tags


def clean_labels(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidMetadata(
            f"labels must be a JSON object of strings, got {type(value).__name__}",
            field="labels",
        )
    if len(value) > MAX_LABELS:
        raise InvalidMetadata(
            f"{len(value)} labels given; at most {MAX_LABELS} are allowed", field="labels"
        )
    labels: dict[str, str] = {}
    for key, item in value.items():
        name = key.strip() if isinstance(key, str) else ""
        if not name or len(name) > MAX_LABEL_KEY_CHARS:
            raise InvalidMetadata(
                f"label name {key!r} must be 1 to {MAX_LABEL_KEY_CHARS} characters",
                field="labels",
            )
        if not isinstance(item, str):
            raise InvalidMetadata(
                f"label {name!r} must be a string, got {type(item).__name__}", field="labels"
            )
        text = item.strip()
        if len(text) > MAX_LABEL_VALUE_CHARS:
            raise InvalidMetadata(
                f"label {name!r} is {len(text)} characters long; at most "
                f"{MAX_LABEL_VALUE_CHARS} are allowed",
                field="labels",
            )
        _refuse_control(name, field="labels")
        _refuse_control(text, field="labels")
        labels[name] = text
    return labels


def parse_tags(text: str) -> list[str]:
    """A form's ``tags``: a JSON list, or comma-separated words."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            values = json.loads(stripped)
        except ValueError as exc:
            raise InvalidMetadata(f"tags is not a valid JSON list: {exc}", field="tags") from exc
        if not isinstance(values, list):
            raise InvalidMetadata("tags must be a JSON list of strings", field="tags")
        return clean_tags(values)
    return clean_tags(stripped.split(","))


def parse_labels(text: str) -> dict[str, str]:
    """A form's ``labels``: a JSON object of strings."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidMetadata(f"labels is not valid JSON: {exc}", field="labels") from exc
    return clean_labels(value)


def _refuse_control(text: str, *, field: str, allow_newlines: bool = False) -> None:
    allowed = "\n\t" if allow_newlines else ""
    for ch in text:
        if ch not in allowed and unicodedata.category(ch) in ("Cc", "Cs"):
            raise InvalidMetadata(f"{field} contains the control character {ch!r}", field=field)


# --- listing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VoiceQuery:
    tags: tuple[str, ...] = ()
    search: str | None = None
    sort: str = "created_at"
    order: str = "desc"
    limit: int = 100
    cursor: str | None = None
    offset: int = 0
    """Only without a cursor (the plain list of ``GET /v1/voices``)."""


@dataclass(frozen=True, slots=True)
class VoicePage:
    voices: list[Voice]
    next_cursor: str | None
    has_more: bool


def _sort_value(voice: Voice, sort: str) -> str:
    return voice.created_at.isoformat() if sort == "created_at" else voice.name


def encode_cursor(voice: Voice, *, sort: str, order: str) -> str:
    raw = json.dumps({"s": sort, "o": order, "v": _sort_value(voice, sort), "i": voice.id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, sort: str, order: str) -> tuple[Any, str]:
    """The (sort value, id) a cursor carries; InvalidInput for a damaged one, or one made for
    another sort or order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        made_for, value, last_id = (data["s"], data["o"]), data["v"], data["i"]
        if not isinstance(value, str) or not isinstance(last_id, str):
            raise ValueError("bad fields")
        parsed: Any = datetime.fromisoformat(value) if made_for[0] == "created_at" else value
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "cursor is not one this server gave (use next_cursor as it came)", field="cursor"
        ) from exc
    if made_for != (sort, order):
        raise InvalidInput(
            f"cursor was made for sort={made_for[0]} order={made_for[1]}; ask the next page "
            "with the same sort and order",
            field="cursor",
        )
    return parsed, last_id


class VoiceSearch:
    """A key's voices, filtered by tags and name, sorted, a page at a time."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def page(self, *, key_id: str, query: VoiceQuery) -> VoicePage:
        if query.sort not in SORTS:
            raise InvalidInput(
                f"sort must be one of {', '.join(SORTS)}, got {query.sort!r}", field="sort"
            )
        if query.order not in ORDERS:
            raise InvalidInput(f"order must be asc or desc, got {query.order!r}", field="order")
        search = (query.search or "").strip()
        if len(search) > MAX_SEARCH_CHARS:
            raise InvalidInput(f"search is longer than {MAX_SEARCH_CHARS} characters")
        after = None
        if query.cursor and query.offset:
            raise InvalidInput("give either cursor or offset, not both", field="offset")
        if query.cursor:
            after = decode_cursor(query.cursor, sort=query.sort, order=query.order)
        tags = [" ".join(t.split()).lower() for t in query.tags if t.strip()]
        async with self._sessions() as session:
            found = await voice_queries.search_voices(
                session,
                key_id=key_id,
                tags=tags,
                search=search or None,
                sort=query.sort,
                descending=query.order == "desc",
                after=after,
                limit=query.limit + 1,
                offset=query.offset,
            )
        has_more = len(found) > query.limit
        voices = found[: query.limit]
        next_cursor = (
            encode_cursor(voices[-1], sort=query.sort, order=query.order)
            if has_more and voices
            else None
        )
        return VoicePage(voices=voices, next_cursor=next_cursor, has_more=has_more)
