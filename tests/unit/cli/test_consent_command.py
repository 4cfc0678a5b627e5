"""``voxclone voices consent-phrase`` and ``voices consent``: the spoken-consent flow from the
command line, with the real engines (Whisper, the speaker embedder, Piper)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tests.conftest import EVAL_SPEECH
from typer.testing import CliRunner

from voxclone.cli.main import app
from voxclone.services import consent as consent_module

REFERENCE = EVAL_SPEECH / "vctk/p225/p225_023.wav"
RECORDING = EVAL_SPEECH / "vctk/p225/p225_019.wav"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("VOXCLONE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCLONE_ADMIN_KEY", "vxadmin_cli-test-key")
    monkeypatch.setenv("VOXCLONE_DEFAULT_BACKEND", "piper")
    monkeypatch.setenv("VOXCLONE_CONSENT__REQUIRED", "true")
    monkeypatch.setenv("VOXCLONE_WHISPER__PACKAGED_MODEL", "tiny.en")
    for name in ("VOXCLONE_DATABASE_URL", "VOXCLONE_API_KEY", "VOXCLONE_SERVER"):
        monkeypatch.delenv(name, raising=False)
    with (EVAL_SPEECH / "manifest.csv").open() as manifest:
        said = next(
            r["transcript"] for r in csv.DictReader(manifest) if r["path"].endswith("p225_019.wav")
        )
    monkeypatch.setattr(consent_module, "new_phrase", lambda: said)


@pytest.mark.engine
def test_consent_from_the_command_line(env: None, tmp_path: Path) -> None:
    cli = CliRunner()
    made = cli.invoke(app, ["keys", "create", "--label", "owner"])
    assert made.exit_code == 0, made.output
    key = next(w for w in made.output.split() if w.startswith("vx_"))
    as_owner = {"VOXCLONE_API_KEY": key}
    added = cli.invoke(app, ["voices", "add", "p225", str(REFERENCE)], env=as_owner)
    assert added.exit_code == 0, added.output

    refused = cli.invoke(
        app, ["say", "--voice", "p225", "Hello.", "-o", str(tmp_path / "a.wav")], env=as_owner
    )
    assert refused.exit_code == 1
    assert "consent" in refused.output

    phrase = cli.invoke(app, ["voices", "consent-phrase", "p225"], env=as_owner)
    assert phrase.exit_code == 0, phrase.output
    assert "Since then physicists" in phrase.output
    given = cli.invoke(app, ["voices", "consent", "p225", str(RECORDING)], env=as_owner)
    assert given.exit_code == 0, given.output
    assert "consent accepted" in given.output

    spoken = cli.invoke(
        app, ["say", "--voice", "p225", "Hello.", "-o", str(tmp_path / "b.wav")], env=as_owner
    )
    assert spoken.exit_code == 0, spoken.output
    assert (tmp_path / "b.wav").read_bytes()[:4] == b"RIFF"
