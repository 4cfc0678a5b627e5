"""How the Kokoro engine cuts text into chunks and joins the chunks' audio.

Streaming yields one chunk per sentence (longer ones are cut at Kokoro's 510-phoneme limit).
A long first sentence is cut after a short lead-in (its first clause, or a few words) so the
first audio comes sooner: Kokoro's cost per chunk grows with its length. Every chunk is trimmed
to the same short margins, faded in and out over 5 ms, and followed by a pause that depends on
how it ends (sentence, clause, word), so chunks join without clicks.
"""

from __future__ import annotations

import re

import numpy as np

from voxclone.core.types import FloatArray

SAMPLE_RATE = 24000
MAX_PHONEMES = 510
"""Kokoro's context is 512 tokens, two of which are the padding around each input."""
_SENTENCE_END = re.compile(r"[.!?…。！？]\W*$")
_CLAUSE_END = re.compile(r"[,;:—，、；：]\W*$")
_CLAUSE_WORD = re.compile(r"[,;:]$")
_FRAME = SAMPLE_RATE // 100
TAIL_S = 0.06
"""The silence ``tidy`` keeps after the speech."""


def lead_in(sentence: str, words: int) -> list[str]:
    """``sentence`` as a short lead-in and the rest, when it is long enough to be worth it.

    The lead-in ends at the first clause mark (comma, semicolon, colon) within the first
    ``2 * words`` words, else after ``words`` words; sentences shorter than ``2 * words``
    words, text without spaces (Japanese, Mandarin) and ``words == 0`` are left whole.
    """
    tokens = sentence.split(" ")
    if words <= 0 or len(tokens) < 2 * words:
        return [sentence]
    cut = next(
        (i + 1 for i, token in enumerate(tokens[: 2 * words - 1]) if _CLAUSE_WORD.search(token)),
        words,
    )
    return [" ".join(tokens[:cut]), " ".join(tokens[cut:])]


def split_phonemes(phonemes: str) -> list[str]:
    """``phonemes`` in pieces of at most ``MAX_PHONEMES``, cut at word boundaries."""
    from kokoro_onnx.chunker import split_phonemes as split

    pieces: list[str] = split(phonemes, MAX_PHONEMES)
    return pieces


def pause_after(phonemes: str) -> float:
    """Seconds of silence after a chunk: longest after a sentence, shortest mid-clause."""
    if _SENTENCE_END.search(phonemes):
        return 0.2
    if _CLAUSE_END.search(phonemes):
        return 0.1
    return 0.03


def speech_bounds(audio: FloatArray) -> tuple[int, int] | None:
    """Where ``tidy`` cuts: from 30 ms before the speech to 60 ms after it (None: silence)."""
    usable = audio[: audio.size // _FRAME * _FRAME].reshape(-1, _FRAME)
    if usable.size == 0:
        return None
    level = np.sqrt(np.mean(np.square(usable, dtype=np.float64), axis=1))
    if level.max() <= 0:
        return None
    active = np.flatnonzero(level > level.max() * 10 ** (-45 / 20))
    start = max(0, int(active[0]) * _FRAME - 30 * _FRAME // 10)
    end = min(audio.size, (int(active[-1]) + 1) * _FRAME + round(TAIL_S * SAMPLE_RATE))
    return start, end


def tidy(audio: FloatArray, pause_s: float) -> FloatArray:
    """Cut Kokoro's silence to 30 ms before and 60 ms after the speech, fade both ends over
    5 ms, and add ``pause_s`` of silence, so that every chunk starts and ends at zero."""
    bounds = speech_bounds(audio)
    if bounds is None:
        return np.zeros(0, dtype=np.float32)
    start, end = bounds
    speech = np.clip(audio[start:end], -1.0, 1.0)
    fade = min(5 * _FRAME // 10, speech.size // 2)
    ramp = (np.arange(fade, dtype=np.float32) + 0.5) / max(fade, 1)
    speech[:fade] *= ramp
    speech[speech.size - fade :] *= ramp[::-1]
    pause = np.zeros(round(pause_s * SAMPLE_RATE), dtype=np.float32)
    return np.concatenate([speech, pause]).astype(np.float32, copy=False)
