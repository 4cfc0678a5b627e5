"""The voices a key can list: its own (``cloned``), the stock voices (``stock``), or both
(``all``: its own first, then the stock voices), filtered and paged alike.

Stock voices are filtered (tags, name) and sorted in memory; their pages are numbered, and
their cursor carries the position (``{"c": "stock", "n": ...}``). Listing ``all`` pages through
the key's voices by their keyset cursor, then through the stock voices by theirs, so one
``next_cursor`` chain walks both.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from dataclasses import dataclass

from voxclone.core.errors import InvalidInput
from voxclone.db.tables import Voice
from voxclone.services.stock_voices import CLONED, STOCK, StockVoice, StockVoices
from voxclone.services.voice_profiles import ORDERS, SORTS, VoiceQuery, VoiceSearch

ALL = "all"
CATEGORY_FILTERS = (CLONED, STOCK, ALL)


@dataclass(frozen=True, slots=True)
class CatalogPage:
    voices: list[Voice | StockVoice]
    next_cursor: str | None
    has_more: bool


class VoiceCatalog:
    def __init__(self, *, search: VoiceSearch, stock: StockVoices) -> None:
        self._search = search
        self._stock = stock

    async def page(self, *, key_id: str, query: VoiceQuery, category: str = CLONED) -> CatalogPage:
        if category not in CATEGORY_FILTERS:
            raise InvalidInput(
                f"category must be one of {', '.join(CATEGORY_FILTERS)}, got {category!r}",
                field="category",
            )
        stock_at = _stock_cursor(query.cursor)
        if category == STOCK and query.cursor and stock_at is None:
            raise InvalidInput(
                "cursor is not one this server gave (use next_cursor as it came)", field="cursor"
            )
        if category == STOCK or (category == ALL and stock_at is not None):
            return self._stock_page(query, stock_at or 0)
        if stock_at is not None:
            raise InvalidInput(
                "cursor is not one this server gave (use next_cursor as it came)", field="cursor"
            )
        own = await self._search.page(key_id=key_id, query=query)
        voices: list[Voice | StockVoice] = list(own.voices)
        if category == CLONED or own.has_more:
            return CatalogPage(voices, own.next_cursor, own.has_more)
        start = 0
        if not voices and query.offset and query.cursor is None:  # past the key's voices
            counted = dataclasses.replace(query, limit=query.offset, offset=0)
            start = query.offset - len(
                (await self._search.page(key_id=key_id, query=counted)).voices
            )
        rest = self._stock_page(
            dataclasses.replace(query, limit=query.limit - len(voices)), start, numbered=True
        )
        return CatalogPage(voices + rest.voices, rest.next_cursor, rest.has_more)

    def _stock_page(self, query: VoiceQuery, start: int, *, numbered: bool = False) -> CatalogPage:
        """Stock voices from position ``start`` (a cursor's), or ``query.offset`` past it."""
        if query.sort not in SORTS or query.order not in ORDERS:
            raise InvalidInput(
                f"sort must be one of {', '.join(SORTS)} and order asc or desc", field="sort"
            )
        found = _filtered(self._stock.list(), query)
        begin = start if numbered or query.cursor else start + query.offset
        voices = found[begin : begin + max(query.limit, 0)] if query.limit > 0 else []
        end = begin + len(voices)
        has_more = end < len(found)
        cursor = _encode(end, query) if has_more else None
        return CatalogPage(list(voices), cursor, has_more)


def _filtered(voices: list[StockVoice], query: VoiceQuery) -> list[StockVoice]:
    tags = {" ".join(t.split()).lower() for t in query.tags if t.strip()}
    search = (query.search or "").strip().casefold()
    kept = [
        v for v in voices if tags <= set(v.tags) and (not search or search in v.name.casefold())
    ]
    if query.sort == "name":
        kept.sort(key=lambda v: v.name.casefold())
    if query.order == "desc" and query.sort == "name":
        kept.reverse()
    return kept


def _encode(position: int, query: VoiceQuery) -> str:
    raw = json.dumps({"c": STOCK, "n": position, "s": query.sort, "o": query.order})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _stock_cursor(cursor: str | None) -> int | None:
    """The position a stock cursor carries; None for any other cursor (or none)."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("c") != STOCK:
        return None
    position = data.get("n")
    if not isinstance(position, int) or position < 0:
        raise InvalidInput(
            "cursor is not one this server gave (use next_cursor as it came)", field="cursor"
        )
    return position
