"""``voxclone history``: list as a table, play an item to a file, delete; only the key's own
items, on the database the server uses (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.conftest import fake_registry, make_settings
from typer.testing import CliRunner

from voxclone.cli.main import app
from voxclone.services.container import build_services

ADMIN = "vxadmin_cli-test-key"


@pytest.fixture
def planted(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Alice with two items, Bob with one, and the environment the command reads."""
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("VOXCLONE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCLONE_ADMIN_KEY", ADMIN)
    monkeypatch.setenv("VOXCLONE_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("VOXCLONE_API_KEY", raising=False)

    async def plant() -> dict[str, str]:
        settings = make_settings(tmp_path / "data", database_url=database_url)
        services = build_services(settings, engines=fake_registry())
        await services.start(run_jobs=False)
        try:
            alice = await services.keys.create(label="alice")
            bob = await services.keys.create(label="bob")
            ids = {}
            for name, key_id, text in (
                ("a1", alice.record.id, "Good morning."),
                ("a2", alice.record.id, "Good night."),
                ("b1", bob.record.id, "Bob speaks."),
            ):
                item = await services.history.add(
                    key_id=key_id,
                    audio=f"RIFF-{name}".encode(),
                    audio_format="wav",
                    duration_s=1.25,
                    entry="sync",
                    text=text,
                    voice_name="narrator",
                    backend="fake",
                    characters=len(text),
                )
                ids[name] = item.id
        finally:
            await services.close()
        return {"alice": alice.secret, **ids}

    return asyncio.run(plant())


def test_list_shows_the_keys_items(planted: dict[str, str]) -> None:
    env = {"VOXCLONE_API_KEY": planted["alice"]}
    result = CliRunner().invoke(app, ["history", "list"], env=env)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert planted["a1"] in out and planted["a2"] in out and planted["b1"] not in out
    assert "Good morning." in out and "narrator" in out and "1.25" in out
    result = CliRunner().invoke(app, ["history", "list", "--search", "NIGHT"], env=env)
    assert planted["a2"] in result.stdout and planted["a1"] not in result.stdout


def test_play_writes_the_audio_and_delete_removes(planted: dict[str, str], tmp_path: Path) -> None:
    env = {"VOXCLONE_API_KEY": planted["alice"]}
    out = tmp_path / "a1.wav"
    result = CliRunner().invoke(app, ["history", "play", planted["a1"], "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b"RIFF-a1"
    result = CliRunner().invoke(app, ["history", "play", planted["b1"], "-o", str(out)], env=env)
    assert result.exit_code == 1 and "not found" in result.output  # Bob's
    result = CliRunner().invoke(app, ["history", "delete", planted["a1"], planted["a2"]], env=env)
    assert result.exit_code == 0 and "deleted 2 item(s)" in result.stdout
    result = CliRunner().invoke(app, ["history", "list"], env=env)
    assert planted["a1"] not in result.stdout and planted["a2"] not in result.stdout
