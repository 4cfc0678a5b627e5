"""Engine set-up: SQLite pragmas, url handling, session behaviour."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.types import new_id
from voxclone.db import keys, voices
from voxclone.db.session import (
    SQLITE_BUSY_TIMEOUT_MS,
    async_url,
    create_db_engine,
)


async def test_sqlite_connections_get_foreign_keys_wal_and_busy_timeout(tmp_path: Path):
    engine = create_db_engine(f"sqlite+aiosqlite:///{tmp_path / 'v.db'}")
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("foreign_keys", "journal_mode", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert pragmas == {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
    }


async def test_the_database_directory_is_created(tmp_path: Path):
    path = tmp_path / "a" / "b" / "v.db"
    engine = create_db_engine(f"sqlite+aiosqlite:///{path}")
    try:
        assert path.parent.is_dir()
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        assert path.is_file()
    finally:
        await engine.dispose()


async def test_in_memory_sqlite_needs_no_directory():
    engine = create_db_engine("sqlite+aiosqlite://")
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite"),
        ("postgresql://u:p@db/vox", "postgresql+asyncpg"),
        ("postgres://u:p@db/vox", "postgresql+asyncpg"),
        ("postgresql+psycopg://u:p@db/vox", "postgresql+psycopg"),
    ],
)
def test_driverless_urls_get_an_async_driver(url: str, driver: str):
    assert async_url(url).drivername == driver


async def test_postgresql_gets_a_checked_pool_or_says_what_to_install():
    url = "postgresql+asyncpg://vox:secret@db.invalid/vox"
    if importlib.util.find_spec("asyncpg") is None:
        with pytest.raises(ModuleNotFoundError, match="pip install 'asyncpg'") as info:
            create_db_engine(url)
        assert "secret" not in str(info.value)
        return
    engine = create_db_engine(url)  # pragma: no cover - only with asyncpg installed
    try:
        assert engine.pool.size() == 10  # type: ignore[attr-defined]
        assert engine.pool._pre_ping  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


async def test_objects_stay_readable_after_commit_and_close(
    session_factory: async_sessionmaker[AsyncSession],
):
    async with session_factory() as session:
        key = await keys.create_key(
            session, id=new_id(), label="kept", key_hash="f" * 64, prefix="vx_kept"
        )
        await session.commit()
    # Expired attributes would need a database round trip here and fail outside the session.
    assert (key.label, key.prefix, key.revoked_at) == ("kept", "vx_kept", None)
    assert key.created_at.tzinfo is not None


async def test_foreign_keys_are_enforced(session: AsyncSession):
    with pytest.raises(IntegrityError):
        await voices.create_voice(
            session,
            id=new_id(),
            key_id=new_id(),  # no such key
            name="orphan",
            backend="piper",
            ref_audio_key="voices/x/ref.wav",
            ref_format="wav",
            ref_duration_s=3.0,
            ref_sample_rate=16000,
        )
