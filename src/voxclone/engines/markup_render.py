"""How Kokoro and Piper speak text with inline markup (``engines/markup``).

Each run of text between pauses becomes one phoneme string: the engine's own G2P phonemizes
the plain text, phoneme overrides go in as written, and the run is synthesized from those
phonemes. Runs next to a pause are trimmed to the speech and followed by exactly the pause.
Marked-up text is not streamed sentence by sentence (each run is one chunk, cut at Kokoro's
phoneme limit) and cannot be timed (``synthesize_timed`` refuses it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np

from voxclone.core.types import Audio, FloatArray
from voxclone.engines.kokoro_text import SAMPLE_RATE, TAIL_S, pause_after, split_phonemes
from voxclone.engines.markup import Phonemes, join_pause, parse, runs
from voxclone.engines.text import normalize_text

_PUNCTUATION = ",.!?;:"
_LEAD_S = 0.03
"""Kokoro's ``tidy`` keeps 30 ms before the speech: a chunk's own pause adds it back."""


def phoneme_runs(text: str, phonemize: Callable[[str], str]) -> list[tuple[str, float | None]]:
    """The phonemes of each run of ``text`` and the pause after it (seconds, or None).

    Text without a letter or digit (punctuation after an override) adds its punctuation only.
    """
    out: list[tuple[str, float | None]] = []
    for run, pause in runs(parse(text)):
        parts: list[str] = []
        for segment in run:
            if isinstance(segment, Phonemes):
                parts.append(segment.phonemes)
                continue
            plain = normalize_text(segment.text)
            if any(ch.isalnum() for ch in plain):
                parts.append(phonemize(plain).strip())
            else:
                marks = "".join(ch for ch in plain if ch in _PUNCTUATION)
                if marks and parts:
                    parts[-1] += marks
        out.append((" ".join(p for p in parts if p), pause))
    return out


def kokoro_chunks(
    phonemes: list[tuple[str, float | None]],
    vocab: Mapping[str, int],
    infer: Callable[[list[int]], FloatArray],
) -> Iterator[Audio]:
    """Kokoro's audio for ``phoneme_runs``: one chunk per piece of at most 510 phonemes."""
    for run, pause in phonemes:
        pieces = split_phonemes(run) if run.strip() else []
        spoken = False
        for i, piece in enumerate(pieces):
            tokens = [vocab[p] for p in piece if p in vocab]
            if not tokens:
                continue
            last = i == len(pieces) - 1
            gap = pause if last and pause is not None else pause_after(piece) + TAIL_S + _LEAD_S
            samples = join_pause(
                infer(tokens), SAMPLE_RATE, trim_start=True, trim_end=True, pause_s=gap
            )
            spoken = True
            yield Audio(samples, SAMPLE_RATE)
        if not spoken and pause:
            yield Audio(np.zeros(round(pause * SAMPLE_RATE), dtype=np.float32), SAMPLE_RATE)


def piper_chunks(
    phonemes: list[tuple[str, float | None]],
    rate: int,
    speak: Callable[[list[str]], FloatArray],
) -> Iterator[Audio]:
    """Piper's audio for ``phoneme_runs`` (``speak`` turns phonemes into normalised audio)."""
    after_pause = False
    for run, pause in phonemes:
        if run.strip():
            samples = join_pause(
                speak(list(run)),
                rate,
                trim_start=after_pause,
                trim_end=pause is not None,
                pause_s=pause,
            )
            yield Audio(samples, rate)
        elif pause:
            yield Audio(np.zeros(round(pause * rate), dtype=np.float32), rate)
        after_pause = pause is not None
