"""``voxclone watermark detect``, in process and on a remote server (uvicorn on loopback,
through ``voxclone.client``): a re-encoded copy of a marked item is traced back to it for its
owner, only to "this deployment" for another key, and unmarked speech is not detected."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import fake_registry, make_settings
from tests.e2e.test_piper_end_to_end import EVAL_SPEECH
from tests.remote.servers import ThreadServer
from tests.watermark_attacks import mp3_64k
from typer.testing import CliRunner

from voxclone.api.app import create_app
from voxclone.audio import decode_audio, encode_audio
from voxclone.cli.main import app
from voxclone.client import Client
from voxclone.core.types import new_id
from voxclone.services.container import build_services

ADMIN = "vxadmin_cli-test-key"
SPEECH = EVAL_SPEECH / "vctk/p225/p225_023.wav"
UNMARKED = EVAL_SPEECH / "vctk/p226/p226_019.wav"
ON = {"enabled": True}  # the default; the tests' settings turn it off


@pytest.fixture
def planted(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Alice with one marked item, Bob with none, and the environment the command reads."""
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("VOXCLONE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCLONE_ADMIN_KEY", ADMIN)
    monkeypatch.setenv("VOXCLONE_DATABASE_URL", database_url)
    for name in ("VOXCLONE_API_KEY", "VOXCLONE_SERVER"):
        monkeypatch.delenv(name, raising=False)

    async def plant() -> dict[str, str]:
        settings = make_settings(tmp_path / "data", database_url=database_url, watermark=ON)
        services = build_services(settings, engines=fake_registry())
        await services.start(run_jobs=False)
        try:
            alice = await services.keys.create(label="alice")
            bob = await services.keys.create(label="bob")
            marker = services.synthesis.renderer.marker
            assert marker is not None  # on by default
            history_id = new_id()
            marked = marker.mark(decode_audio(SPEECH.read_bytes()).audio, history_id=history_id)
            item = await services.history.add(
                key_id=alice.record.id,
                audio=encode_audio(marked, "wav"),
                audio_format="wav",
                duration_s=marked.duration_s,
                entry="sync",
                text="Hi.",
                voice_id="v-1",
                backend="fake",
                item_id=history_id,
            )
            (tmp_path / "copy.wav").write_bytes(encode_audio(mp3_64k(marked), "wav"))
        finally:
            await services.close()
        return {"alice": alice.secret, "bob": bob.secret, "item": item.id}

    return asyncio.run(plant())


@pytest.fixture
def remote(planted: dict[str, str], tmp_path: Path, database_url: str) -> Iterator[list[str]]:
    settings = make_settings(tmp_path / "data", database_url=database_url, watermark=ON)
    services = build_services(settings, engines=fake_registry())
    with ThreadServer(create_app(services=services)) as url:
        yield ["--server", url]


def _check(cli: list[str], planted: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    alice, bob = ["--api-key", planted["alice"]], ["--api-key", planted["bob"]]
    copy = str(tmp_path / "copy.wav")
    found = runner.invoke(app, [*cli, *alice, "watermark", "detect", copy])
    assert found.exit_code == 0, found.output
    assert "detected: yes" in found.stdout and planted["item"] in found.stdout
    assert "'Hi.'" in found.stdout

    theirs = runner.invoke(app, [*cli, *bob, "watermark", "detect", copy])
    assert theirs.exit_code == 0, theirs.output
    assert "detected: yes" in theirs.stdout and planted["item"] not in theirs.stdout
    assert planted["item"][:8] in theirs.stdout and "withheld" in theirs.stdout

    verified = runner.invoke(app, [*cli, *alice, "provenance", "verify", copy])
    assert verified.exit_code == 1  # not these exact bytes, but a copy of them
    assert "watermark: this deployment's watermark, naming a history" in verified.stdout

    none = runner.invoke(app, [*cli, *alice, "watermark", "detect", str(UNMARKED)])
    assert none.exit_code == 1 and "detected: no" in none.stdout


def test_in_process(planted: dict[str, str], tmp_path: Path) -> None:
    _check([], planted, tmp_path)


def test_on_a_remote_server(remote: list[str], planted: dict[str, str], tmp_path: Path) -> None:
    _check(remote, planted, tmp_path)
    with Client(remote[1], api_key=planted["alice"]) as client:
        found = client.watermark.detect(tmp_path / "copy.wav")
        assert found.detected and found.history is not None
        assert found.history.history_id == planted["item"]
