"""Engines and sessions: one async engine per process, sessions from a factory.

SQLite (the embedded default, through aiosqlite) gets foreign keys, write-ahead logging and a
busy timeout on every new connection. It keeps the sqlite3 driver's default ("legacy")
transaction control: a transaction begins at the first INSERT/UPDATE/DELETE, so plain reads
never hold a snapshot that a later write would have to upgrade (the usual source of
"database is locked" errors), and concurrent writers queue on the busy timeout instead.
Savepoints (``session.begin_nested()``) are not reliable in that mode; don't use them.

PostgreSQL urls (``postgresql+asyncpg://``, ``postgresql+psycopg://``, or plain
``postgresql://``, which means asyncpg) get a pool that checks connections before use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, pool
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 15_000
"""How long a SQLite writer waits for another one before failing with "database is locked"."""

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
_DRIVER_PACKAGES = {"aiosqlite": "aiosqlite", "asyncpg": "asyncpg", "psycopg": "psycopg[binary]"}


def async_url(url: str | URL) -> URL:
    """``url`` parsed, with a driver-less ``sqlite://`` / ``postgresql://`` made async."""
    parsed = make_url(url)
    if parsed.drivername in _ASYNC_DRIVERS:
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[parsed.drivername])
    return parsed


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite url; None for in-memory and ``file:`` URI databases."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return Path(database)


def create_db_engine(url: str | URL, **engine_options: Any) -> AsyncEngine:
    """An async engine for ``url``, configured for the kind of database it names.

    ``engine_options`` go to ``create_async_engine`` and override the defaults chosen here.
    The caller owns the engine and must ``await engine.dispose()`` when done with it.
    """
    parsed = async_url(url)
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {}
    if backend == "sqlite":
        path = sqlite_file(parsed)
        if path is not None:
            path.expanduser().parent.mkdir(parents=True, exist_ok=True)
    elif backend == "postgresql":
        options.update(pool_size=10, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)
    options.update(engine_options)
    if options.get("poolclass") is pool.NullPool:  # no pool: nothing to size
        for name in ("pool_size", "max_overflow", "pool_recycle"):
            options.pop(name, None)
    try:
        engine = create_async_engine(parsed, **options)
    except ModuleNotFoundError as exc:
        driver = parsed.get_driver_name()
        package = _DRIVER_PACKAGES.get(driver, driver)
        raise ModuleNotFoundError(
            f"the database url {parsed.render_as_string(hide_password=True)!r} needs the "
            f"{driver!r} driver: pip install {package!r}",
            name=exc.name,
        ) from exc
    if backend == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
