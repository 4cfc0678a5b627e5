"""Kokoro's predicted phoneme durations, made a graph output and turned into timed phonemes.

Kokoro's duration predictor gives each input token (the two pads and every phoneme) a whole
number of frames (sigmoid logits summed, divided by ``speed``, rounded, at least 1); each frame
is 600 samples (25 ms) of 24 kHz audio, and the audio is exactly the sum of the frames.
The export keeps those numbers inside the graph (``Round`` → ``Clip`` → ``Cast`` after the
``Div`` by ``speed``); ``add_durations_output`` makes them an output named ``durations``.
``timed_chunks`` is the engine's chunking (``kokoro_text``) with each chunk's alignment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from voxclone.core.types import Audio, FloatArray
from voxclone.engines.alignment import Alignment
from voxclone.engines.kokoro_text import (
    SAMPLE_RATE,
    TAIL_S,
    pause_after,
    speech_bounds,
    split_phonemes,
    tidy,
)
from voxclone.engines.timing import Phone, chunk_alignment, trim_to_sound, word_counts

DURATIONS = "durations"
FRAME_SAMPLES = 600
LEAD_S = 0.05
"""How much earlier a phoneme sounds than the frames the predictor gives it: two frames, as
measured against the audio (word starts after a silence were 45 ms, median, after the sound
began, word ends before one 70 ms; ``benchmarks/timestamps_accuracy.py``). Times are moved
earlier by this much."""


def add_durations_output(graph: Any) -> bool:
    """Add the ``durations`` output ([1, tokens], int64) to a Kokoro graph, in place.

    False when the graph already has it or has no such tensor (then there is no timing).
    """
    from onnx import TensorProto, helper

    if any(out.name == DURATIONS for out in graph.output):
        return False
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def follow(name: str, op: str) -> Any:
        found = [n for n in consumers.get(name, []) if n.op_type == op]
        return found[0] if len(found) == 1 else None

    for node in graph.node:
        if node.op_type != "Div" or len(node.input) < 2 or node.input[1] != "speed":
            continue
        if producer.get(node.input[0]) is None:
            continue
        rounded = follow(node.output[0], "Round")
        clipped = rounded and follow(rounded.output[0], "Clip")
        cast = clipped and follow(clipped.output[0], "Cast")
        if cast:
            graph.node.append(helper.make_node("Identity", [cast.output[0]], [DURATIONS]))
            graph.output.append(
                helper.make_tensor_value_info(DURATIONS, TensorProto.INT64, [1, None])
            )
            return True
    return False


def piece_phones(
    symbols: Sequence[str],
    durations: npt.NDArray[np.int64],
    *,
    trim_start: int,
    length: int,
    offset_s: float,
    rate: int,
) -> list[Phone]:
    """The phonemes of one inference (``symbols``: the tokens fed, without the pads) with their
    times in the tidied chunk (``trim_start`` samples cut off the front, ``length`` left; each
    time ``LEAD_S`` earlier than its frames), placed ``offset_s`` seconds into the sentence."""
    frames = np.asarray(durations, dtype=np.int64).reshape(-1)
    if frames.size != len(symbols) + 2:
        raise ValueError(f"{frames.size} durations for {len(symbols)} tokens and two pads")
    edges = np.cumsum(frames) * FRAME_SAMPLES - trim_start - round(LEAD_S * rate)
    edges = np.clip(edges, 0, length)
    phones = [
        Phone(symbol, offset_s + edges[i] / rate, offset_s + edges[i + 1] / rate)
        for i, symbol in enumerate(symbols)
    ]
    end = offset_s + length / rate
    phones.append(Phone(" ", end, end))
    return phones


def timed_chunks(
    sentences: list[str],
    *,
    phonemize: Callable[[str], str],
    vocab: Mapping[str, int],
    infer: Callable[[list[int]], tuple[FloatArray, npt.NDArray[np.int64]]],
) -> Iterator[tuple[Audio, Alignment]]:
    """The engine's chunks of ``sentences`` (one per inference, tidied as ``_chunks`` tidies
    them), each with its alignment. A sentence longer than Kokoro's context (several
    inferences) is timed whole, then cut where its chunks meet."""
    for n, sentence in enumerate(sentences):
        phonemes = phonemize(sentence)
        counts = word_counts(sentence, phonemize)
        phones: list[Phone] = []
        audio: list[FloatArray] = []
        at = 0
        for piece in split_phonemes(phonemes):
            symbols = [p for p in piece if p in vocab]
            if not symbols:
                continue
            raw, durations = infer([vocab[p] for p in symbols])
            chunk = tidy(raw, pause_after(piece))
            bounds = speech_bounds(raw)
            phones += piece_phones(
                symbols,
                durations,
                trim_start=bounds[0] if bounds else 0,
                length=_spoken(chunk, bounds),
                offset_s=at / SAMPLE_RATE,
                rate=SAMPLE_RATE,
            )
            audio.append(chunk)
            at += chunk.size
        if not audio:
            continue
        phones = trim_to_sound(phones, np.concatenate(audio), SAMPLE_RATE)
        whole = chunk_alignment(
            sentence, phones, counts=counts, duration_s=at / SAMPLE_RATE, lead=" " if n else ""
        )
        ends = np.cumsum([a.size for a in audio]) / SAMPLE_RATE
        starts = [0.0, *ends[:-1]]
        for k, part in enumerate(whole.split_at(list(ends[:-1]))):
            length = audio[k].size / SAMPLE_RATE
            yield Audio(audio[k], SAMPLE_RATE), part.shifted(-starts[k]).clamped(0.0, length)


def _spoken(chunk: FloatArray, bounds: tuple[int, int] | None) -> int:
    """How many samples of a tidied chunk are speech (its margin after the speech left out)."""
    if bounds is None:
        return 0
    return max(0, min(chunk.size, bounds[1] - bounds[0]) - round(TAIL_S * SAMPLE_RATE))
