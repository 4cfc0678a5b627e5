"""``voxclone provenance verify`` and ``provenance manifest``, in process and on a remote
server (uvicorn on loopback, through ``voxclone.client``): the same answers either way."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import fake_registry, make_settings
from tests.remote.servers import ThreadServer
from typer.testing import CliRunner

from voxclone.api.app import create_app
from voxclone.cli.main import app
from voxclone.client import Client
from voxclone.services.container import build_services

ADMIN = "vxadmin_cli-test-key"
AUDIO = b"RIFF" + bytes(range(200))


@pytest.fixture
def planted(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Alice with one item (AUDIO), Bob with none, and the environment the command reads."""
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("VOXCLONE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCLONE_ADMIN_KEY", ADMIN)
    monkeypatch.setenv("VOXCLONE_DATABASE_URL", database_url)
    for name in ("VOXCLONE_API_KEY", "VOXCLONE_SERVER"):
        monkeypatch.delenv(name, raising=False)

    async def plant() -> dict[str, str]:
        settings = make_settings(tmp_path / "data", database_url=database_url)
        services = build_services(settings, engines=fake_registry())
        await services.start(run_jobs=False)
        try:
            alice = await services.keys.create(label="alice")
            bob = await services.keys.create(label="bob")
            item = await services.history.add(
                key_id=alice.record.id,
                audio=AUDIO,
                audio_format="wav",
                duration_s=1.0,
                entry="sync",
                text="Hi.",
                voice_id="v-1",
                backend="fake",
            )
        finally:
            await services.close()
        return {"alice": alice.secret, "bob": bob.secret, "item": item.id}

    (tmp_path / "a.wav").write_bytes(AUDIO)
    (tmp_path / "b.wav").write_bytes(AUDIO[:-1] + b"\x00")
    return asyncio.run(plant())


@pytest.fixture
def remote(planted: dict[str, str], tmp_path: Path, database_url: str) -> Iterator[list[str]]:
    """The same deployment served over HTTP: ``--server URL`` for the commands."""
    settings = make_settings(tmp_path / "data", database_url=database_url)
    services = build_services(settings, engines=fake_registry())
    with ThreadServer(create_app(services=services)) as url:
        yield ["--server", url]


def _check(cli: list[str], planted: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    alice, bob = ["--api-key", planted["alice"]], ["--api-key", planted["bob"]]
    out = tmp_path / "m.json"
    made = runner.invoke(
        app, [*cli, *alice, "provenance", "manifest", planted["item"], "-o", str(out)]
    )
    assert made.exit_code == 0, made.output
    manifest = json.loads(out.read_text())
    assert manifest["history_id"] == planted["item"] and manifest["signature"]["alg"] == "Ed25519"

    found = runner.invoke(app, [*cli, *alice, "provenance", "verify", str(tmp_path / "a.wav"),
                                "--manifest", str(out)])  # fmt: skip
    assert found.exit_code == 0, found.output
    assert "generated: yes" in found.stdout and planted["item"] in found.stdout
    assert "manifest valid: yes" in found.stdout

    theirs = runner.invoke(app, [*cli, *bob, "provenance", "verify", str(tmp_path / "a.wav")])
    assert theirs.exit_code == 0, theirs.output
    assert "generated: yes" in theirs.stdout and planted["item"] not in theirs.stdout

    changed = runner.invoke(app, [*cli, *alice, "provenance", "verify", str(tmp_path / "b.wav"),
                                  "--manifest", str(out)])  # fmt: skip
    assert changed.exit_code == 1
    assert "generated: no" in changed.stdout and "manifest valid: no" in changed.stdout


def test_in_process(planted: dict[str, str], tmp_path: Path) -> None:
    _check([], planted, tmp_path)


def test_on_a_remote_server(remote: list[str], planted: dict[str, str], tmp_path: Path) -> None:
    _check(remote, planted, tmp_path)
    with Client(remote[1], api_key=planted["alice"]) as client:
        key = client.provenance.public_key()
        manifest = client.provenance.manifest(planted["item"])
        assert manifest["signature"]["kid"] == key.key_id and key.jwk["crv"] == "Ed25519"
        assert client.provenance.verify(AUDIO, manifest=manifest).manifest_valid is True
