"""The ``voxclone`` command on a remote deployment: ``--server URL`` (or VOXCLONE_SERVER)
with ``--api-key``, against a live server (uvicorn on loopback, real Piper and Whisper). The
same commands as in process, over HTTP through ``voxclone.client``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jiwer
import pytest
import soundfile as sf
from typer.testing import CliRunner

from tests.conftest import ADMIN_KEY, make_settings
from tests.e2e.test_piper_end_to_end import reference_clip
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.cli.main import app
from voxclone.client import Client
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine

TEXT = "Hello from a remote command line."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("remote-cli") / "data"
    settings = make_settings(data_dir, default_backend="piper", default_stt_backend="whisper")
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    with ThreadServer(create_app(services=services)) as url:
        yield url


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner in an empty directory, with nothing of a local deployment in the
    environment: every command must go to the server."""
    monkeypatch.chdir(tmp_path)
    for name in ("VOXCLONE_SERVER", "VOXCLONE_API_KEY", "VOXCLONE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VOXCLONE_DATA_DIR", str(tmp_path / "not-used"))
    monkeypatch.setenv("COLUMNS", "250")
    return CliRunner()


@pytest.fixture(scope="module")
def key(server: str) -> str:
    """A user key, issued with the remote ``keys create`` (the admin key as --api-key)."""
    runner = CliRunner()
    made = runner.invoke(
        app, ["--server", server, "--api-key", ADMIN_KEY, "keys", "create", "--label", "remote"]
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("vx_")
    listed = runner.invoke(app, ["--server", server, "--api-key", ADMIN_KEY, "keys", "list"])
    assert listed.exit_code == 0 and "remote" in listed.stdout, listed.output
    return secret


def test_voices_say_transcribe_history_usage(
    cli: CliRunner, server: str, key: str, tmp_path: Path
) -> None:
    remote = ["--server", server, "--api-key", key]
    added = cli.invoke(app, [*remote, "voices", "add", "narrator", str(reference_clip()),
                             "--backend", "piper"])  # fmt: skip
    assert added.exit_code == 0, added.output
    voice_id = added.stdout.strip().splitlines()[-1]
    listed = cli.invoke(app, [*remote, "voices", "list"])
    assert listed.exit_code == 0 and voice_id in listed.stdout and "piper" in listed.stdout
    # The local data directory was never touched: the voice lives on the server.
    assert not (tmp_path / "not-used").exists()

    out = tmp_path / "hello.wav"
    said = cli.invoke(app, [*remote, "say", "--voice", "narrator", "-o", str(out), TEXT])
    assert said.exit_code == 0, said.output
    assert "synthesizing" in said.output  # the progress bar
    samples, rate = sf.read(out)
    assert rate == 22050 and 1.0 < len(samples) / rate < 5.0

    heard = cli.invoke(app, [*remote, "transcribe", str(out), "--language", "en"])
    assert heard.exit_code == 0, heard.output
    assert jiwer.wer("hello from a remote command line", heard.stdout.lower().strip(" .\n")) < 0.3
    as_json = cli.invoke(app, [*remote, "transcribe", str(out), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert body["language"] == "english" and body["segments"]

    history = cli.invoke(app, [*remote, "history", "list"])
    assert history.exit_code == 0, history.output
    assert "narrator" in history.stdout and TEXT[:20] in history.stdout
    history_id = next(
        line.split("│")[1].strip() for line in history.stdout.splitlines() if "narrator" in line
    )
    played = tmp_path / "again.wav"
    play = cli.invoke(app, [*remote, "history", "play", history_id, "-o", str(played)])
    assert play.exit_code == 0, play.output
    assert played.read_bytes() == out.read_bytes()

    usage = cli.invoke(app, [*remote, "usage"])
    assert usage.exit_code == 0, usage.output
    assert f"of {len(TEXT)} characters" not in usage.stdout  # unlimited by default
    assert f"this period: {len(TEXT):,} of unlimited characters" in usage.stdout
    assert "piper" in usage.stdout and "whisper" in usage.stdout

    # The environment variables work as the options do.
    env = {"VOXCLONE_SERVER": server, "VOXCLONE_API_KEY": key}
    deleted = cli.invoke(app, ["voices", "delete", "narrator"], env=env)
    assert deleted.exit_code == 0, deleted.output
    assert voice_id not in cli.invoke(app, ["voices", "list"], env=env).stdout


def test_stories_render_and_jobs_wait(
    cli: CliRunner, server: str, key: str, tmp_path: Path
) -> None:
    remote = ["--server", server, "--api-key", key]
    with Client(server, api_key=key) as vx:
        voice = vx.voices.create("teller", reference_clip(), backend="piper")
        queued = vx.synthesis.submit(voice.voice_id, "A job waited for on the command line.")
    job_id = queued.job_id  # type: ignore[union-attr]
    out = tmp_path / "job.wav"
    waited = cli.invoke(app, [*remote, "jobs", "wait", job_id, "-o", str(out)])
    assert waited.exit_code == 0, waited.output
    assert f"job {job_id} ready" in waited.output
    assert sf.info(out).duration > 1.0

    script = tmp_path / "tale.txt"
    script.write_text("NARRATOR: Once upon a time.\n\nHERO: I will go now.\n")
    cast = ["--cast", "NARRATOR=teller", "--cast", "HERO=teller"]
    made = cli.invoke(app, [*remote, "stories", "create", "Tale", "--script", str(script), *cast])
    assert made.exit_code == 0, made.output
    assert "2 tracks, 2 clips" in made.output
    story_id = made.output.split()[1].rstrip(":")
    assert story_id in cli.invoke(app, [*remote, "stories", "list"]).output
    mix = tmp_path / "tale.wav"
    rendered = cli.invoke(app, [*remote, "stories", "render", story_id, "-o", str(mix)])
    assert rendered.exit_code == 0, rendered.output
    assert "rendering" in rendered.output
    assert sf.info(mix).duration > 1.5


def test_errors_are_one_line_and_exit_1(cli: CliRunner, server: str, key: str) -> None:
    wrong = cli.invoke(app, ["--server", server, "--api-key", "vx_wrong", "voices", "list"])
    assert wrong.exit_code == 1
    assert "error:" in wrong.output and "401" in wrong.output
    missing = cli.invoke(
        app, ["--server", server, "--api-key", key, "say", "-v", "nobody", "-o", "x.wav", "Hi."]
    )
    assert missing.exit_code == 1 and "nobody" in missing.output
    not_admin = cli.invoke(app, ["--server", server, "--api-key", key, "keys", "list"])
    assert not_admin.exit_code == 1 and "403" in not_admin.output
    nowhere = cli.invoke(app, ["--server", "http://127.0.0.1:9", "voices", "list"])
    assert nowhere.exit_code == 1 and "error:" in nowhere.output
