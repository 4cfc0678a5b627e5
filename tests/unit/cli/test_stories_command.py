"""``voxclone stories``: a story from a script in one command, listed, rendered to a file with
the fake engine declared in an engines file (as an operator declares any engine), on the
database the server uses (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
import soundfile as sf
from tests.conftest import tone_wav
from typer.testing import CliRunner

from voxclone.cli.main import app
from voxclone.config import Settings
from voxclone.services.container import build_services

ADMIN = "vxadmin_cli-test-key"
SCRIPT = """NARRATOR: It was a dark night.
ALICE: Who is there?
[pause 1s]
BOB: Only me. Go back to sleep.
"""


@pytest.fixture
def voices(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no .env here
    engines = tmp_path / "engines.toml"
    engines.write_text(
        '[[engines]]\nname = "fake"\ntype = "python"\ntarget = "voxclone.engines.fake:FakeEngine"\n'
    )
    env = {
        "VOXCLONE_DATA_DIR": str(tmp_path / "data"),
        "VOXCLONE_ADMIN_KEY": ADMIN,
        "VOXCLONE_DATABASE_URL": database_url,
        "VOXCLONE_ENGINES_FILE": str(engines),
        "VOXCLONE_DEFAULT_BACKEND": "fake",
        "VOXCLONE_AUTO_TRANSCRIBE_REFERENCES": "false",
        "COLUMNS": "200",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    async def plant() -> dict[str, str]:
        services = build_services(Settings(_env_file=None))  # type: ignore[call-arg]
        await services.start(run_jobs=False)
        try:
            key = await services.keys.create(label="cli")
            for name in ("narrator", "alice", "bob"):
                await services.voices.create(
                    key_id=key.record.id, name=name, ref_audio=tone_wav(), ref_text="hi"
                )
        finally:
            await services.close()
        return {"key": key.secret}

    planted = asyncio.run(plant())
    monkeypatch.setenv("VOXCLONE_API_KEY", planted["key"])
    return planted


def test_a_story_from_a_script_in_three_commands(voices, tmp_path: Path) -> None:
    script = tmp_path / "night.txt"
    script.write_text(SCRIPT)
    cast = ["--cast", "NARRATOR=narrator", "--cast", "ALICE=alice", "--cast", "BOB=bob"]
    runner = CliRunner()
    made = runner.invoke(app, ["stories", "create", "Night", "--script", str(script), *cast])
    assert made.exit_code == 0, made.output
    assert "3 tracks, 3 clips" in made.output  # the pause is a gap, not a clip
    story_id = made.output.split()[1].rstrip(":")

    listed = runner.invoke(app, ["stories", "list"])
    assert listed.exit_code == 0 and story_id in listed.output and "Night" in listed.output

    out = tmp_path / "night.wav"
    rendered = runner.invoke(app, ["stories", "render", story_id, "-o", str(out)])
    assert rendered.exit_code == 0, rendered.output
    audio, rate = sf.read(io.BytesIO(out.read_bytes()))
    assert len(audio) / rate > 1.0  # three lines and a one-second pause


def test_a_cast_of_unknown_voices_or_bad_pairs_is_refused(voices, tmp_path: Path) -> None:
    script = tmp_path / "night.txt"
    script.write_text(SCRIPT)
    runner = CliRunner()
    bad = runner.invoke(
        app, ["stories", "create", "N", "--script", str(script), "--cast", "NARRATOR"]
    )
    assert bad.exit_code == 1 and "NAME=VOICE" in bad.output
    missing = runner.invoke(
        app,
        ["stories", "create", "N", "--script", str(script), "--cast", "NARRATOR=narrator"],
    )
    assert missing.exit_code == 1 and "ALICE" in missing.output
