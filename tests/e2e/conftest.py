"""Real-engine tests run on SQLite only: the database is not what they exercise, and the
database-backed behaviour runs on both databases in tests/api and tests/unit/db."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'voxclone.db'}"
