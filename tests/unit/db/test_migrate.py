"""The packaged migrations: they build exactly tables.py, and running them again is harmless."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from tests import peers

from voxclone.db import keys
from voxclone.db.migrate import alembic_config, upgrade_database, upgrade_database_sync
from voxclone.db.session import create_db_engine
from voxclone.db.tables import Base


@pytest.fixture
def fresh_database_url(database_url: str) -> Iterator[str]:
    """An empty database of the test's kind: these tests migrate it and change its schema."""
    if database_url.startswith("sqlite"):
        yield database_url
        return
    with peers.temporary_database("voxclone_migrate") as url:
        yield url


@pytest.fixture
async def db_url(fresh_database_url: str) -> str:
    await upgrade_database(fresh_database_url)
    return fresh_database_url


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_there_is_one_head_and_the_database_is_at_it(engine: AsyncEngine):
    assert _head() == "0010"
    async with engine.connect() as conn:
        assert await conn.run_sync(_revision) == _head()


async def test_migrated_schema_matches_tables_py(engine: AsyncEngine):
    async with engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert names == set(Base.metadata.tables) | {"alembic_version"}


async def test_the_comparison_would_notice_a_difference(engine: AsyncEngine):
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP INDEX ix_jobs_status_created")
        differences = await conn.run_sync(_differences)
    assert [d[0] for d in differences] == ["add_index"]


async def test_constraints_follow_the_naming_convention(engine: AsyncEngine):
    def names(connection: Connection) -> dict[str, Any]:
        inspector = inspect(connection)
        return {
            "pk": inspector.get_pk_constraint("voice_prompts")["name"],
            "uq": [u["name"] for u in inspector.get_unique_constraints("api_keys")],
            "fk": sorted(f["name"] for f in inspector.get_foreign_keys("jobs")),
            "ix": sorted(i["name"] for i in inspector.get_indexes("jobs")),
        }

    async with engine.connect() as conn:
        found = await conn.run_sync(names)
    assert found == {
        "pk": "pk_voice_prompts",
        "uq": ["uq_api_keys_key_hash"],
        "fk": ["fk_jobs_key_id_api_keys", "fk_jobs_voice_id_voices"],
        "ix": ["ix_jobs_key_id", "ix_jobs_status_created", "ix_jobs_voice_id"],
    }


async def test_a_second_upgrade_changes_nothing_and_keeps_data(
    db_url: str, engine: AsyncEngine, session: AsyncSession
):
    await keys.create_key(session, id="k1", label="x", key_hash="a" * 64, prefix="vx_a")
    await session.commit()
    await upgrade_database(db_url)
    async with engine.connect() as conn:
        assert await conn.run_sync(_revision) == _head()
        assert await conn.run_sync(_differences) == []
    assert await keys.get_key(session, key_id="k1") is not None


async def test_concurrent_upgrades_of_a_new_database_both_succeed(fresh_database_url: str):
    url = fresh_database_url
    await asyncio.gather(upgrade_database(url), upgrade_database(url))
    engine = create_db_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_revision) == _head()
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()


def test_the_sync_upgrade_works_without_a_running_loop(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"  # a driver-less url, as a user might write it
    upgrade_database_sync(url)
    upgrade_database_sync(url)

    async def revision() -> str | None:
        engine = create_db_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(_revision)
        finally:
            await engine.dispose()

    assert asyncio.run(revision()) == _head()


async def test_the_sync_upgrade_refuses_to_run_inside_a_loop(tmp_path: Path):
    with pytest.raises(RuntimeError, match="await upgrade_database"):
        upgrade_database_sync(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert not (tmp_path / "x.db").exists()


async def test_0002_adds_job_leases_to_a_database_with_jobs(fresh_database_url: str):
    url = fresh_database_url
    await upgrade_database(url, revision="0001")
    engine = create_db_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO api_keys (id, label, key_hash, prefix, created_at) "
                    "VALUES ('k', '', :hash, 'vx_k', CURRENT_TIMESTAMP)"
                ),
                {"hash": "b" * 64},
            )
            await conn.execute(
                text(
                    "INSERT INTO jobs (id, key_id, kind, status, progress, params, attempts, "
                    "created_at) VALUES ('j', 'k', 'synthesize', 'pending', 0, '{}', 0, "
                    "CURRENT_TIMESTAMP)"
                )
            )
        await upgrade_database(url)
        async with engine.connect() as conn:
            assert await conn.run_sync(_revision) == _head()
            row = (await conn.execute(text("SELECT heartbeat_at, worker FROM jobs"))).one()
        assert tuple(row) == (None, None)
    finally:
        await engine.dispose()
