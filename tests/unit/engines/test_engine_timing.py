"""``synthesize_timed`` on the real Piper and Kokoro engines: the same audio as ``synthesize``,
with the predicted durations turned into the timing of the text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tests.unit.engines.test_kokoro import KOKORO_DIR

from voxclone.core.errors import TimestampsUnsupported
from voxclone.core.types import Audio
from voxclone.engines.alignment import Alignment, words_of
from voxclone.engines.base import SynthesisParams, TimedTTSEngine
from voxclone.engines.kokoro import KokoroEngine
from voxclone.engines.kokoro_assets import VOICES_FILE
from voxclone.engines.piper import PiperEngine

pytestmark = pytest.mark.engine
TEXT = "Good morning, Dr. Jones. The 3 cats sat on 12 mats! Really?"
SPOKEN = ["Good", "morning,", "Dr.", "Jones.", "The", "3", "cats", "sat", "on", "12", "mats!"]
SPOKEN.append("Really?")


@pytest.fixture(scope="module")
def piper() -> Iterator[PiperEngine]:
    engine = PiperEngine(name="piper")
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def kokoro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KokoroEngine]:
    if not (KOKORO_DIR / VOICES_FILE).is_file():
        pytest.skip(f"no Kokoro voices at {KOKORO_DIR}")
    data = tmp_path_factory.mktemp("kokoro-timing")
    engine = KokoroEngine(name="local", data_dir=data, shared_models_dir=KOKORO_DIR, fit=False)
    yield engine
    engine.close()


def check_chunks(chunks: list[tuple[Audio, Alignment]], text: str) -> None:
    assert "".join(a.text for _, a in chunks) == " ".join(text.split())
    for n, (audio, alignment) in enumerate(chunks):
        duration = audio.duration_s
        assert alignment.text.startswith(" ") == (n > 0)
        times = [*alignment.starts, *alignment.ends]
        assert all(0 <= t <= duration + 1e-3 for t in times)
        assert list(alignment.starts) == sorted(alignment.starts)
        assert list(alignment.ends) == sorted(alignment.ends)
        words = words_of(alignment)
        assert all(w.end_s > w.start_s for w in words)
        assert words[-1].end_s > duration - 0.5


@pytest.mark.parametrize("engine_name", ["piper", "kokoro"])
def test_timed_chunks_are_the_same_audio(engine_name: str, request: pytest.FixtureRequest) -> None:
    engine = request.getfixturevalue(engine_name)
    assert isinstance(engine, TimedTTSEngine) and getattr(engine, "timed", False)
    params = SynthesisParams(temperature=0)
    plain = list(engine.synthesize(TEXT, {}, params))
    timed = list(engine.synthesize_timed(TEXT, {}, params))
    assert len(plain) == len(timed) >= 3
    assert all(np.array_equal(a.samples, b.samples) for a, (b, _) in zip(plain, timed, strict=True))
    check_chunks(timed, TEXT)
    assert [w.word for _, a in timed for w in words_of(a)] == SPOKEN


def test_kokoro_speed_shortens_the_times(kokoro: KokoroEngine) -> None:
    slow = list(kokoro.synthesize_timed("The cats sat on the mats.", {}, SynthesisParams()))
    fast = list(
        kokoro.synthesize_timed("The cats sat on the mats.", {}, SynthesisParams(speed=1.6))
    )
    assert words_of(fast[0][1])[-1].end_s < 0.8 * words_of(slow[0][1])[-1].end_s


def test_kokoro_sentence_longer_than_its_context(kokoro: KokoroEngine) -> None:
    numbers = ", ".join(str(1234567 + 1111111 * i) for i in range(14))
    text = f"Count {numbers} now."
    chunks = list(kokoro.synthesize_timed(text, {}, SynthesisParams()))
    assert len(chunks) >= 2  # one sentence, several inferences
    check_chunks(chunks, text)
    assert [w.word for _, a in chunks for w in words_of(a)] == text.split()


def test_kokoro_int8_graph_as_it_is_has_no_timing(tmp_path: Path) -> None:
    if not (KOKORO_DIR / VOICES_FILE).is_file():
        pytest.skip(f"no Kokoro voices at {KOKORO_DIR}")
    engine = KokoroEngine(
        name="plain",
        data_dir=tmp_path,
        shared_models_dir=KOKORO_DIR,
        fit=False,
        optimize_model=False,
    )
    assert not engine.timed
    with pytest.raises(TimestampsUnsupported, match="int8 graph"):
        engine.synthesize_timed("Hi.", {}, SynthesisParams())
    engine.close()
