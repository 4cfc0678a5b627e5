"""``voxclone transcribe FILE``: the real Whisper model, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import EVAL_SPEECH
from typer.testing import CliRunner

from voxclone.cli.main import app

CLIP = EVAL_SPEECH / "cmu_arctic/aew/arctic_a0003.wav"  # "For the twentieth time that evening..."


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("VOXCLONE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCLONE_ADMIN_KEY", "vxadmin_cli-test-key")
    monkeypatch.setenv("VOXCLONE_WHISPER__PACKAGED_MODEL", "tiny.en")
    for name in ("VOXCLONE_DATABASE_URL", "VOXCLONE_WHISPER_MODE", "VOXCLONE_DEFAULT_STT_BACKEND"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.engine
def test_transcribe_prints_text_and_json(env: None) -> None:
    result = CliRunner().invoke(app, ["transcribe", str(CLIP)])
    assert result.exit_code == 0, result.output
    assert "time that evening, the two men shook hands" in result.stdout.lower()

    result = CliRunner().invoke(app, ["transcribe", str(CLIP), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["task"] == "transcribe" and body["language"] == "english"
    assert body["duration"] == pytest.approx(3.54, abs=0.01) and body["segments"]


def test_transcribe_refuses_an_unknown_format(env: None) -> None:
    result = CliRunner().invoke(app, ["transcribe", str(CLIP), "--format", "docx"])
    assert result.exit_code == 2
    assert "--format must be" in result.output
