"""A real SQLite database per test, built by the real migrations, and record factories."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from voxclone.core.types import JobKind, new_id
from voxclone.db import jobs, keys, voices
from voxclone.db.migrate import upgrade_database
from voxclone.db.session import create_db_engine, create_session_factory
from voxclone.db.tables import ApiKey, Job, Voice


@pytest.fixture
async def db_url(database_url: str) -> str:
    """A migrated database: SQLite, then PostgreSQL (``database_url`` in tests/conftest.py,
    whose PostgreSQL database is migrated once per session)."""
    if database_url.startswith("sqlite"):
        await upgrade_database(database_url)
    return database_url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_db_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture
def make_key(session: AsyncSession) -> Callable[..., Awaitable[ApiKey]]:
    async def make(**overrides: Any) -> ApiKey:
        key_id = new_id()
        fields: dict[str, Any] = {
            "id": key_id,
            "label": "test",
            "key_hash": hashlib.sha256(key_id.encode()).hexdigest(),
            "prefix": "vx_test",
        }
        fields.update(overrides)
        return await keys.create_key(session, **fields)

    return make


@pytest.fixture
def make_voice(session: AsyncSession) -> Callable[..., Awaitable[Voice]]:
    async def make(*, key_id: str, **overrides: Any) -> Voice:
        voice_id = overrides.pop("id", new_id())
        fields: dict[str, Any] = {
            "id": voice_id,
            "name": "narrator",
            "backend": "piper",
            "ref_audio_key": f"voices/{voice_id}/ref.wav",
            "ref_format": "wav",
            "ref_duration_s": 5.0,
            "ref_sample_rate": 22050,
        }
        fields.update(overrides)
        return await voices.create_voice(session, key_id=key_id, **fields)

    return make


@pytest.fixture
def make_job(session: AsyncSession) -> Callable[..., Awaitable[Job]]:
    async def make(*, key_id: str, **overrides: Any) -> Job:
        fields: dict[str, Any] = {
            "id": new_id(),
            "kind": JobKind.SYNTHESIZE,
            "params": {"text": "hello"},
        }
        fields.update(overrides)
        return await jobs.create_job(session, key_id=key_id, **fields)

    return make
