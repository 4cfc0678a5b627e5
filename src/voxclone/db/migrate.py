"""Apply the Alembic migrations that ship inside the package; no alembic.ini is needed.

``await upgrade_database(url)`` from async code (the server's start-up), or
``upgrade_database_sync(url)`` from plain code (``voxclone migrate``). Both are idempotent:
a database already at the head revision is left alone.

The whole upgrade runs in one transaction. On SQLite that transaction is ``BEGIN IMMEDIATE``
(DDL included), so two processes starting at once take turns and the second finds nothing to
do; on PostgreSQL a transaction-scoped advisory lock does the same.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, pool
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from voxclone.db.session import async_url, create_db_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_PG_LOCK_ID = 0x766F78636C6F6E65 & 0x7FFFFFFFFFFFFFFF
"""Advisory lock key (``voxclone`` in ASCII) held while migrating a PostgreSQL database."""


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic Config for the packaged migrations (``url`` is kept in ``attributes``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.attributes["url"] = async_url(url)
    return config


def create_migration_engine(url: str | URL) -> AsyncEngine:
    """An engine for migrating: no pool, and real transactions around DDL on SQLite."""
    engine = create_db_engine(url, poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_manual_transactions)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_manual_transactions(dbapi_connection: Any, _connection_record: Any) -> None:
    # Stop the sqlite3 driver from issuing its own BEGIN (it skips DDL); see _begin_immediate.
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade_on(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_ID})")
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade_database(url: str | URL, *, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``; safe to await inside a running loop.

    Alembic runs synchronously on the async connection (``run_sync``), so no second event
    loop or thread is involved. It commits its own transaction.
    """
    engine = create_migration_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_on, revision)
    finally:
        await engine.dispose()


def upgrade_database_sync(url: str | URL, *, revision: str = "head") -> None:
    """``upgrade_database`` for code with no event loop running (the CLI)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(upgrade_database(url, revision=revision))
        return
    raise RuntimeError(
        "upgrade_database_sync() was called inside a running event loop; "
        "use `await upgrade_database(url)` there instead"
    )
