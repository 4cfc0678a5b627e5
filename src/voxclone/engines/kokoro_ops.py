"""The fused Kokoro vocoder operators: a small C library for onnxruntime, built on this host.

``native/kokoro_ops.c`` implements ``Snake`` and ``AdaINSnake`` (domain ``voxclone.kokoro``),
what the vocoder runs before each of its convolutions, in one pass each instead of up to 14
graph nodes (``kokoro_fusion`` rewrites the graph to use them). It needs nothing but a C
compiler and onnxruntime's C API header, which ships beside it (``native/include``, MIT). The
library is compiled once per source version into a cache folder (the engine's
``DATA_DIR/native``), through a temporary file renamed into place, so processes that start
together never load half a library. Without a compiler (``$CC``, ``cc``, ``gcc`` or ``clang``)
``ops_library`` logs why and returns None, and the engine runs the graph without them. An image
without a compiler at run time builds it beside the source at install time instead
(``python -m voxclone.engines.kokoro_ops``, as ``deploy/Dockerfile`` does); that copy is used
first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from voxclone.core.errors import EngineUnavailable

NATIVE = Path(__file__).with_name("native")
SOURCE = NATIVE / "kokoro_ops.c"
DOMAIN = "voxclone.kokoro"
FLAGS = ("-std=c11", "-O3", "-fPIC", "-shared", "-fvisibility=hidden")
BUILD_TIMEOUT_S = 180
log = logging.getLogger(__name__)


def find_compiler() -> str | None:
    """The C compiler to build with: ``$CC``, else the first of cc, gcc, clang on the PATH."""
    named = os.environ.get("CC", "").strip()
    candidates = [named] if named else ["cc", "gcc", "clang"]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def library_name() -> str:
    """The file name of this source version's library (it changes with the source)."""
    digest = hashlib.sha256(SOURCE.read_bytes())
    digest.update(" ".join(FLAGS).encode())
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    return f"libvoxclone_kokoro_ops.{digest.hexdigest()[:12]}{suffix}"


def build_library(cache_dir: Path, *, compiler: str | None = None) -> Path:
    """The library in ``cache_dir``, compiled now unless this source version is already there.

    Raises EngineUnavailable saying why when it cannot be built (no compiler, Windows, or the
    compiler failed: its message is included).
    """
    target = Path(cache_dir) / library_name()
    if target.is_file():
        return target
    if sys.platform == "win32":
        raise EngineUnavailable("the fused Kokoro operators are built on Linux and macOS only")
    cc = compiler or find_compiler()
    if cc is None:
        raise EngineUnavailable("no C compiler found (set CC, or install gcc or clang)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    command = [cc, *FLAGS, "-I", str(NATIVE / "include"), str(SOURCE), "-o", str(tmp), "-lm"]
    try:
        try:
            done = subprocess.run(  # noqa: S603 - a compiler with fixed arguments
                command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EngineUnavailable(f"{cc} could not build the fused operators: {exc}") from exc
        if done.returncode != 0:
            raise EngineUnavailable(
                f"{cc} failed to build the fused operators (exit {done.returncode}): "
                f"{done.stderr.strip()[-800:]}"
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("built the fused Kokoro operators into %s", target)
    return target


def ops_library(cache_dir: Path, *, prebuilt_dir: Path | None = NATIVE) -> Path | None:
    """The library built at install time in ``prebuilt_dir``, else the one in ``cache_dir``
    (built now if need be), or None (with a logged notice saying why) when it cannot be had."""
    if prebuilt_dir is not None and (prebuilt_dir / library_name()).is_file():
        return prebuilt_dir / library_name()
    try:
        return build_library(cache_dir)
    except EngineUnavailable as exc:
        log.warning("Kokoro runs without its fused vocoder operators (slower): %s", exc)
        return None


def main() -> None:
    """Build the library beside its source (an install step; exit status 1 when it fails)."""
    try:
        print(build_library(NATIVE))
    except EngineUnavailable as exc:
        raise SystemExit(f"the fused Kokoro operators were not built: {exc}") from exc


if __name__ == "__main__":
    main()
