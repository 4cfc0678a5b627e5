"""Alembic environment for voxclone's packaged migrations.

Normally run by ``voxclone.db.migrate``, which hands over an open connection in
``config.attributes["connection"]``. Without one (the ``alembic`` command line with an ini
file that sets ``script_location`` and ``sqlalchemy.url``), it opens its own async engine.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import URL, Connection

from voxclone.db.migrate import create_migration_engine
from voxclone.db.session import async_url
from voxclone.db.tables import Base, UtcDateTime

config = context.config
target_metadata = Base.metadata


def _url() -> URL:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database url: pass one to voxclone.db.migrate.upgrade_database")
    return async_url(url)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write ``UtcDateTime`` columns as plain ``sa.DateTime(timezone=True)`` in new revisions."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata, compare_type=True, render_item=render_item, **options
    )


def run_on_connection(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def run_with_new_engine(url: URL) -> None:
    engine = create_migration_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on_connection)
    finally:
        await engine.dispose()


def run_offline() -> None:
    url = _url()
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (connection := config.attributes.get("connection")) is not None:
    run_on_connection(connection)
else:
    asyncio.run(run_with_new_engine(_url()))
