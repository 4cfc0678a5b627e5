"""``voxclone bench``: the configured engines, timed through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import EVAL_SPEECH
from typer.testing import CliRunner

from voxclone.cli.main import app

CLIP = EVAL_SPEECH / "cmu_arctic/aew/arctic_a0003.wav"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("VOXCLONE_DATA_DIR", str(tmp_path / "data"))
    for name in ("VOXCLONE_DEFAULT_BACKEND", "VOXCLONE_ENGINES_FILE", "VOXCLONE_MODE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.engine
def test_bench_times_piper(env: None) -> None:
    result = CliRunner().invoke(
        app, ["bench", "-e", "piper", "--runs", "1", "--reference", str(CLIP)]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("piper ")]
    assert len(lines) == 2, result.stdout
    rtf = float(lines[0].split()[6])
    assert 0 < rtf < 1  # Piper speaks faster than real time on any machine CI runs on


def test_bench_refuses_an_unknown_engine(env: None) -> None:
    result = CliRunner().invoke(app, ["bench", "-e", "nope"])
    assert result.exit_code == 1
    assert "unknown backend 'nope'" in result.output and "piper" in result.output


def test_bench_refuses_a_reference_that_is_not_audio(env: None, tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all")
    result = CliRunner().invoke(app, ["bench", "-e", "piper", "--reference", str(bad)])
    assert result.exit_code == 1 and "error:" in result.output
