"""``services.bench``: the timing behind ``voxclone bench`` and ``benchmarks/engine_speed.py``."""

from __future__ import annotations

import numpy as np
import pytest

from voxclone.core.types import Audio
from voxclone.engines.fake import FakeEngine
from voxclone.services import bench


def tone(hz: float, seconds: float = 1.0, rate: int = 16000) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate)


def test_rows_per_text_with_medians_and_steps() -> None:
    steps: list[str] = []
    rows = bench.measure_engine(
        lambda: FakeEngine("fake", delay_s=0.01), runs=2, reference=tone(180.0), step=steps.append
    )
    assert [r.text for r in rows] == list(bench.TEXTS)
    one, ten = rows
    assert one.chunks == 1 and ten.chunks == 10
    assert ten.audio_s > one.audio_s > 0
    # the fake sleeps 10 ms per sentence before yielding it
    assert one.first_chunk_s >= 0.01 and ten.first_chunk_s >= 0.01
    assert 0 < one.rtf < 1 and one.rtf >= 0.01 / one.audio_s
    assert one.prompt_s is not None and one.load_s >= 0
    assert steps == [
        "loading",
        "making the voice",
        "warming up",
        "1 sentence, run 1 of 2",
        "1 sentence, run 2 of 2",
        "10 sentences, run 1 of 2",
        "10 sentences, run 2 of 2",
    ]
    table = bench.format_table(rows, runs=2)
    assert "medians over 2 warm runs" in table and table.count("\nfake ") == 2


def test_without_a_reference_no_voice_is_made() -> None:
    rows = bench.measure_engine(lambda: FakeEngine("fake"), runs=1)
    assert all(r.prompt_s is None for r in rows)
    assert bench.format_table(rows, runs=1).splitlines()[-1].rstrip().endswith("-")


def test_an_engine_that_yields_nothing_is_an_error() -> None:
    class Silent(FakeEngine):
        def synthesize(self, text, prompt, params):  # type: ignore[no-untyped-def]
            return iter(())

    with pytest.raises(RuntimeError, match="produced no audio"):
        bench.measure_engine(lambda: Silent("silent"), runs=1)


def test_runs_must_be_positive() -> None:
    with pytest.raises(ValueError, match="runs"):
        bench.measure_engine(lambda: FakeEngine("fake"), runs=0)
