"""The one-off table of stock voices that every fit starts from.

For each stock voice: its renders of the fixed fitting sentences (kept at 16 kHz), the speaker
embedding of those renders joined, and their pitch statistics. Building it costs one Kokoro
render per voice and sentence (55 x 3, several minutes on two cores); it is saved as one
``.npz`` file and reused until the stock voices, the sentences or ``TABLE_VERSION`` change.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxclone.audio.resample import resample
from voxclone.core.types import Audio, FloatArray
from voxclone.engines.fitting.reference import Embed, pitch_stats

TABLE_VERSION = 1
RATE = 16000
FIT_SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "She said the river was quiet, but the birds kept singing all morning.",
        "How much would it cost to ship these boxes to my brother's house?",
        "We have been waiting here since nine o'clock, and nobody has called.",
    ),
}
"""Sentences every candidate voice is heard on; none is a benchmark sentence."""

Render = Callable[[str, FloatArray, str], Audio]
Progress = Callable[[float], None]


@dataclass(frozen=True)
class StockTable:
    names: list[str]
    embeddings: npt.NDArray[np.float32]
    """One unit row per voice: the embedding of its fitting-sentence renders joined."""
    pitch_hz: npt.NDArray[np.float32]
    spread_st: npt.NDArray[np.float32]
    renders: dict[str, list[Audio]]
    """Each voice's renders of the fitting sentences, at 16 kHz."""
    fingerprint: str

    def index(self, name: str) -> int:
        return self.names.index(name)


def fingerprint(stock: Mapping[str, FloatArray], lang: str) -> str:
    """Identifies a table's inputs: the stock packs, the sentences and the table version."""
    digest = hashlib.sha256(f"v{TABLE_VERSION}|{lang}|".encode())
    digest.update(json.dumps(sentences_for(lang)).encode())
    for name in sorted(stock):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(stock[name], dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def sentences_for(lang: str) -> tuple[str, ...]:
    key = lang.split("-")[0].lower()
    return FIT_SENTENCES.get(key, FIT_SENTENCES["en"])


def build_table(
    *,
    render: Render,
    stock: Mapping[str, FloatArray],
    embed: Embed,
    lang: str = "en",
    progress: Progress | None = None,
) -> StockTable:
    """Render every stock voice on the fitting sentences and measure it."""
    names = sorted(stock)
    sentences = sentences_for(lang)
    embeddings, pitch, spread = [], [], []
    renders: dict[str, list[Audio]] = {}
    for i, name in enumerate(names):
        clips = [resample(render(s, stock[name], lang), RATE) for s in sentences]
        joined = Audio.concatenate(clips)
        stats = pitch_stats(joined)
        embeddings.append(embed(joined))
        pitch.append(stats.median_hz)
        spread.append(stats.spread_st)
        renders[name] = clips
        if progress is not None:
            progress((i + 1) / len(names))
    return StockTable(
        names=names,
        embeddings=_unit_rows(np.array(embeddings, dtype=np.float32)),
        pitch_hz=np.array(pitch, dtype=np.float32),
        spread_st=np.array(spread, dtype=np.float32),
        renders=renders,
        fingerprint=fingerprint(stock, lang),
    )


def save_table(table: StockTable, path: Path) -> None:
    """Write ``table`` to ``path`` (through a temporary file, so readers never see half)."""
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "names": np.array(table.names),
        "embeddings": table.embeddings,
        "pitch_hz": table.pitch_hz,
        "spread_st": table.spread_st,
        "fingerprint": np.array(table.fingerprint),
    }
    for name, clips in table.renders.items():
        for j, clip in enumerate(clips):
            arrays[f"audio/{name}/{j}"] = np.round(np.clip(clip.samples, -1, 1) * 32767).astype(
                np.int16
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it holds nothing secret
        Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def load_table(path: Path) -> StockTable:
    with np.load(path) as data:
        names = [str(n) for n in data["names"]]
        renders: dict[str, list[Audio]] = {name: [] for name in names}
        for key in sorted(k for k in data.files if k.startswith("audio/")):
            _, name, _ = key.split("/")
            samples = data[key].astype(np.float32) / 32767.0
            renders[name].append(Audio(samples.astype(np.float32), RATE))
        return StockTable(
            names=names,
            embeddings=np.asarray(data["embeddings"], dtype=np.float32),
            pitch_hz=np.asarray(data["pitch_hz"], dtype=np.float32),
            spread_st=np.asarray(data["spread_st"], dtype=np.float32),
            renders=renders,
            fingerprint=str(data["fingerprint"]),
        )


def cached_table(
    cache_dir: Path,
    *,
    render: Render,
    stock: Mapping[str, FloatArray],
    embed: Embed,
    lang: str = "en",
    progress: Progress | None = None,
) -> StockTable:
    """The table for these stock voices from ``cache_dir``, built and saved on first use."""
    key = fingerprint(stock, lang)
    path = Path(cache_dir) / f"kokoro-fit-table-{key}.npz"
    if path.is_file():
        try:
            table = load_table(path)
        except (OSError, ValueError, KeyError):
            table = None  # damaged: rebuilt below
        if table is not None and table.fingerprint == key:
            return table
    table = build_table(render=render, stock=stock, embed=embed, lang=lang, progress=progress)
    save_table(table, path)
    return table


def _unit_rows(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    rows: npt.NDArray[np.float32] = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
    return rows
