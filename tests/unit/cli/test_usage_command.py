"""``voxclone usage``: a key's current period as a table, or every key's with ``--all``; on the
database the server uses (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from tests.conftest import fake_registry, make_settings
from typer.testing import CliRunner

from voxclone.cli.main import app
from voxclone.services.container import build_services
from voxclone.services.usage import UsageRecord

ADMIN = "vxadmin_cli-test-key"


@pytest.fixture
def keys(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Two keys with known usage, and the environment the command reads its settings from."""
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("VOXCLONE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCLONE_ADMIN_KEY", ADMIN)
    monkeypatch.setenv("VOXCLONE_DATABASE_URL", database_url)
    monkeypatch.setenv("VOXCLONE_QUOTAS__MONTHLY_CHAR_QUOTA", "5000")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("VOXCLONE_API_KEY", raising=False)

    async def plant() -> dict[str, str]:
        settings = make_settings(tmp_path / "data", database_url=database_url)
        services = build_services(settings, engines=fake_registry())
        await services.start(run_jobs=False)
        try:
            alice = await services.keys.create(label="alice")
            bob = await services.keys.create(label="bob")
            for record in (
                UsageRecord(
                    key_id=alice.record.id,
                    kind="tts",
                    entry="sync",
                    backend="kokoro",
                    characters=1234,
                    audio_out_s=12.5,
                ),
                UsageRecord(
                    key_id=alice.record.id,
                    kind="stt",
                    entry="openai",
                    backend="whisper",
                    audio_in_s=30.25,
                ),
                UsageRecord(key_id=bob.record.id, kind="tts", entry="sync", characters=77),
            ):
                await services.usage.record(record)
        finally:
            await services.close()
        return {
            "alice": alice.secret,
            "alice_id": alice.record.id,
            "bob_id": bob.record.id,
        }

    return asyncio.run(plant())


def cells(lines: list[str], first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    for line in lines:
        row = [cell.strip() for cell in line.split("│")]
        if row[0] == first:
            return row[1:]
    raise AssertionError(f"no row {first!r} in:\n" + "\n".join(lines))


def test_usage_shows_the_keys_period_per_backend_and_day(keys: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["usage"], env={"VOXCLONE_API_KEY": keys["alice"]})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"usage of key {keys['alice_id']}" in out
    assert "this period: 1,234 of 5,000 characters, 3,766 left" in out
    lines = out.splitlines()
    assert cells(lines, "kokoro") == ["1,234", "12.5", "0.0", "1", "0"]
    assert cells(lines, "whisper") == ["0", "0.0", "30.2", "1", "0"]
    # bob's usage is not alice's (a cell of 77; a key id may hold the digits "77" by chance)
    assert "day (UTC)" in out and not re.search(r"(?<![\w-])77(?![\w-])", out)


def test_usage_all_shows_every_key(keys: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["usage", "--all"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "usage of all keys" in result.stdout
    assert cells(lines, keys["alice_id"])[0] == "1,234"
    assert cells(lines, keys["bob_id"])[0] == "77"
    assert cells(lines, "total") == ["1,311", "12.5", "30.2", "3", "0"]

    result = CliRunner().invoke(
        app, ["usage", "--all", "--key-id", keys["bob_id"], "--group-by", "kind"]
    )
    assert result.exit_code == 0, result.output
    assert f"usage of key {keys['bob_id']}" in result.stdout
    assert "1,234" not in result.stdout


def test_usage_refuses_bad_input(keys: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["usage"])
    assert result.exit_code == 1 and "no user key" in result.output

    env = {"VOXCLONE_API_KEY": keys["alice"]}
    result = CliRunner().invoke(
        app, ["usage", "--from", "2026-03-01", "--to", "2025-03-01"], env=env
    )
    assert result.exit_code == 1 and "must be before" in result.output
    result = CliRunner().invoke(app, ["usage", "--group-by", "key"], env=env)
    assert result.exit_code == 1 and "group_by 'key' is not one of" in result.output
    result = CliRunner().invoke(app, ["usage", "--from", "last week"], env=env)
    assert result.exit_code == 1 and "ISO-8601" in result.output
