"""What the hot path keeps in memory (keys, voices, the cache index) and when it forgets it.

A cache hit answers from memory: the key's principal (``KeyService``), the voice
(``VoiceService.resolve_cached``) and the cached audio (``SynthesisCache``), each trusted for
at most ``auth_cache_s`` seconds before the database is asked again. That is the bound within
which a change made by another process (another ``--workers`` process, another API host) is
seen. In this process a change is seen at once: every flush or bulk statement of the ORM that
writes an ``ApiKey``, a ``Voice`` or deletes a ``CacheEntry`` moves that table's *epoch*, and an
entry read under an older epoch is not trusted. In the distributed mode (a Redis URL) the
epochs' moves are also published on Redis (``Invalidations``), so that every API host forgets
within the round trip of a message, the TTL remaining the bound when Redis is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from voxclone.db.tables import ApiKey, CacheEntry, Voice

log = logging.getLogger(__name__)

KEYS, VOICES, CACHE = "keys", "voices", "cache"
_WATCHED: dict[type[Any], str] = {ApiKey: KEYS, Voice: VOICES}

_epochs: dict[str, int] = {KEYS: 0, VOICES: 0, CACHE: 0}
_published: list[str] = []
"""Tables moved since the last publish (``Invalidations`` drains it)."""
_wakeup: asyncio.Event | None = None


def epoch(table: str) -> int:
    return _epochs[table]


def bump(table: str, *, publish: bool = True) -> None:
    """Forget, in this process, every cached row of ``table`` (KEYS, VOICES or CACHE)."""
    _epochs[table] += 1
    if publish and _wakeup is not None:  # Redis carries it (distributed mode)
        _published.append(table)
        _wakeup.set()


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush: UOWTransaction) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = _WATCHED.get(type(obj))
        if table is not None:
            session.info.setdefault("voxclone_moved", set()).add(table)
            bump(table, publish=False)
    for obj in session.deleted:
        if isinstance(obj, CacheEntry):
            session.info.setdefault("voxclone_moved", set()).add(CACHE)
            bump(CACHE, publish=False)


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    entity = mapper.class_ if mapper is not None else None
    table = _WATCHED.get(entity) if entity is not None else None
    if table is None and entity is CacheEntry and state.is_delete:
        table = CACHE
    if table is not None:
        state.session.info.setdefault("voxclone_moved", set()).add(table)
        bump(table, publish=False)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # Moved again once committed: a reader between the flush and the commit saw the old row.
    for table in session.info.pop("voxclone_moved", ()):
        bump(table)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop("voxclone_moved", None)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values trusted for ``ttl_s`` seconds and while ``table``'s epoch stays where it was when
    they were read; at most ``max_entries`` (all dropped past it: the hot set refills)."""

    def __init__(self, table: str, *, ttl_s: float, max_entries: int = 10_000) -> None:
        self._table = table
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: dict[K, tuple[V, float, int]] = {}

    @property
    def enabled(self) -> bool:
        return self._ttl_s > 0

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        value, expiry, seen = found
        if seen != _epochs[self._table] or expiry <= time.monotonic():
            del self._entries[key]
            return None
        return value

    def reader(self) -> int:
        """The epoch to hand ``put`` for a value about to be read from the database."""
        return _epochs[self._table]

    def put(self, key: K, value: V, *, read_at: int) -> None:
        if self._ttl_s <= 0 or read_at != _epochs[self._table]:
            return  # the table moved while the value was read: it may be stale already
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (value, time.monotonic() + self._ttl_s, read_at)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


CHANNEL = "voxclone:invalidate"


class Invalidations:
    """The epochs' moves shared on Redis pub/sub: what this host changes, every other host
    forgets (distributed mode). A lost message costs at most ``auth_cache_s`` of staleness."""

    def __init__(self, redis_url: str) -> None:
        self._url = redis_url
        self._me = secrets.token_hex(8)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        global _wakeup
        _wakeup = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._publish()), loop.create_task(self._listen())]

    async def stop(self) -> None:
        global _wakeup
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        _wakeup = None

    async def _publish(self) -> None:
        import redis.asyncio as redis

        client = redis.Redis.from_url(self._url)
        try:
            while True:
                assert _wakeup is not None
                await _wakeup.wait()
                _wakeup.clear()
                tables = set(_published)
                _published.clear()
                for table in tables:
                    try:
                        await client.publish(CHANNEL, f"{self._me}:{table}")
                    except Exception:
                        log.warning("could not publish an invalidation of %s", table)
        finally:
            await client.aclose()

    async def _listen(self) -> None:
        import redis.asyncio as redis

        while True:
            client = redis.Redis.from_url(self._url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    # Messages may have been missed while unsubscribed: forget everything.
                    for table in _epochs:
                        bump(table, publish=False)
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        sender, _, table = message["data"].decode().partition(":")
                        if sender != self._me and table in _epochs:
                            bump(table, publish=False)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("invalidations: lost Redis; retrying in 1 s", exc_info=True)
                await asyncio.sleep(1)
            finally:
                await client.aclose()
