"""The watermark on real speech (the evaluation recordings) and on real Piper output: each
transformation it must survive reads back the right payload, unmarked speech never reads as
marked, pieces marked one by one on one grid read as one mark."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator

import numpy as np
import pytest
import soundfile as sf
from tests.e2e.test_piper_end_to_end import EVAL_SPEECH
from tests.watermark_attacks import ATTACKS

from voxclone.audio import watermark
from voxclone.core.types import Audio
from voxclone.engines.base import SynthesisParams
from voxclone.engines.piper import PiperEngine

with (EVAL_SPEECH / "manifest.csv").open() as manifest:
    ROWS = list(csv.DictReader(manifest))
LONG = [r["path"] for r in ROWS if 6.0 <= float(r["duration_s"]) <= 12.0][:4]
PAYLOAD = 0xBEEF_1234_ABCD


def speech(path: str) -> Audio:
    samples, rate = sf.read(EVAL_SPEECH / path, dtype="float32", always_2d=True)
    return Audio(np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32), rate)


@pytest.fixture(scope="module")
def piper_speech() -> Iterator[Audio]:
    engine = PiperEngine(name="piper")
    text = (
        "The watermark rides along with every word this voice says. It should survive a "
        "round trip through a lossy codec, a change of sample rate, and a trimmed start."
    )
    yield Audio.concatenate(list(engine.synthesize(text, {}, SynthesisParams(temperature=0.0))))
    engine.close()


def test_the_payload_is_coded_with_its_crc() -> None:
    coded = watermark.encode_payload(PAYLOAD)
    assert coded.size == watermark.CODED_BITS
    assert np.array_equal(watermark.crc16(coded[:48]), coded[48:])
    with pytest.raises(ValueError, match="48 bits"):
        watermark.encode_payload(1 << 48)


@pytest.mark.parametrize("path", LONG)
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_real_speech_keeps_its_mark_through_each_transformation(path: str, attack: str) -> None:
    original = speech(path)
    marked = watermark.embed(original, PAYLOAD)
    assert marked.sample_rate == original.sample_rate
    assert marked.samples.size == original.samples.size
    found = watermark.detect(ATTACKS[attack](marked))
    assert found.detected and found.payload == PAYLOAD, found


@pytest.mark.engine
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_piper_output_keeps_its_mark(piper_speech: Audio, attack: str) -> None:
    found = watermark.detect(ATTACKS[attack](watermark.embed(piper_speech, 0x1234_5678_9ABC)))
    assert found.detected and found.payload == 0x1234_5678_9ABC, found


def test_the_mark_is_quiet_beside_the_speech() -> None:
    original = speech(LONG[0])
    added = watermark.embed(original, PAYLOAD).samples - original.samples
    snr = 10 * np.log10(np.sum(original.samples**2) / np.sum(added**2))
    assert snr > 15.0
    band = np.abs(np.fft.rfft(added))  # nothing outside 1-4 kHz, but the filters' skirts
    hz = np.fft.rfftfreq(added.size, 1 / original.sample_rate)
    inside = band[(hz > 900) & (hz < 4100)].sum()
    assert inside / band.sum() > 0.95


def test_unmarked_real_speech_is_never_detected() -> None:
    for row in ROWS:
        found = watermark.detect(speech(row["path"]))
        assert not found.detected and found.payload is None, row["path"]
        assert found.confidence == 0.0


def test_pieces_marked_one_by_one_read_as_one_mark() -> None:
    """A stream's chunks, each marked where it lies in the stream."""
    original = speech(LONG[1])
    cuts = np.linspace(0, original.samples.size, 5).astype(int)
    pieces, start = [], 0
    for a, b in itertools.pairwise(cuts):
        piece = Audio(original.samples[a:b].copy(), original.sample_rate)
        pieces.append(watermark.embed(piece, PAYLOAD, start=start))
        start += round((b - a) * watermark.RATE / original.sample_rate)
    found = watermark.detect(Audio.concatenate(pieces))
    assert found.detected and found.payload == PAYLOAD


def test_silence_and_short_clips_carry_nothing_and_noise_reads_as_unmarked() -> None:
    silence = Audio(np.zeros(48_000, dtype=np.float32), 24_000)
    short = Audio(np.full(100, 0.1, dtype=np.float32), 16_000)
    for audio in (silence, short):
        assert np.array_equal(watermark.embed(audio, PAYLOAD).samples, audio.samples)
        assert not watermark.detect(audio).detected
    noise = np.random.default_rng(1).normal(0, 0.1, 160_000).astype(np.float32)
    assert not watermark.detect(Audio(noise, 16_000)).detected
