"""Inline pronunciation markup (``[word](/phonemes/)``, ``[pause:1.5s]``): parsed, checked
against each engine's phoneme inventory, and spoken by the real Piper and Kokoro engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tests.unit.engines.test_kokoro import KOKORO_DIR

from voxclone.core.errors import InvalidMarkup, TimestampsUnsupported
from voxclone.core.types import Audio
from voxclone.engines import markup
from voxclone.engines.base import SynthesisParams
from voxclone.engines.fake import FakeEngine
from voxclone.engines.kokoro import KokoroEngine
from voxclone.engines.kokoro_assets import VOICES_FILE
from voxclone.engines.markup import Pause, Phonemes, Words
from voxclone.engines.piper import PiperEngine

PAUSED = "Hello there. [pause:1.5s] General Kenobi."
PLAIN = "Hello there. General Kenobi."


@pytest.fixture(scope="module")
def piper() -> Iterator[PiperEngine]:
    engine = PiperEngine(name="piper")
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def kokoro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KokoroEngine]:
    if not (KOKORO_DIR / VOICES_FILE).is_file():
        pytest.skip(f"no Kokoro voices at {KOKORO_DIR}")
    data: Path = tmp_path_factory.mktemp("kokoro-markup")
    engine = KokoroEngine(name="local", data_dir=data, shared_models_dir=KOKORO_DIR, fit=False)
    yield engine
    engine.close()


def spoken(engine: PiperEngine | KokoroEngine, text: str) -> Audio:
    params = SynthesisParams(language="en", temperature=0.0)
    chunks = list(engine.synthesize(text, {}, params))
    return Audio(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate)


def longest_silence_s(audio: Audio) -> float:
    """The longest stretch of 10 ms frames more than 40 dB below the loudest one."""
    frame = round(audio.sample_rate * 0.01)
    x = audio.samples[: audio.samples.size // frame * frame].reshape(-1, frame)
    level = np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=1))
    best = run = 0
    for quiet in level < level.max() * 10 ** (-40 / 20):
        run = run + 1 if quiet else 0
        best = max(best, run)
    return best * 0.01


# --- parsing ----------------------------------------------------------------------------------


def test_markup_is_parsed_into_words_phonemes_and_pauses() -> None:
    text = "Say [Kokoro](/kˈOkəɹO/) now[pause:250ms] and [pause: 1.5 s]again."
    assert markup.parse(text) == [
        Words("Say "),
        Phonemes("Kokoro", "kˈOkəɹO"),
        Words(" now"),
        Pause(0.25),
        Words(" and "),
        Pause(1.5),
        Words("again."),
    ]
    assert not markup.has_markup("plain [brackets] and (parens) / slashes")
    assert markup.parse("no markup") == [Words("no markup")]


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("wait [pause:abc] here", "malformed pause"),
        ("wait [pause] here", "malformed pause"),
        ("wait [pause:-1s] here", "malformed pause"),
        ("wait [pause:11s] here", "0 to 10 s"),
        ("say [word](/ /) here", "names no phonemes"),
    ],
)
def test_malformed_markup_is_refused(text: str, detail: str) -> None:
    with pytest.raises(InvalidMarkup, match=detail):
        markup.parse(text)


# --- checking against the engines' inventories --------------------------------------------------


def test_unknown_phonemes_are_named(piper: PiperEngine, kokoro: KokoroEngine) -> None:
    markup.check("Say [Kokoro](/kˈOkəɹO/).", kokoro)
    with pytest.raises(InvalidMarkup, match="unknown phoneme '§'") as caught:
        markup.check("Say [Kokoro](/kˈO§kəɹO/).", kokoro)
    assert caught.value.details["symbol"] == "§"
    markup.check("Say [Kokoro](/kˈoʊkəɹoʊ/).", piper)
    with pytest.raises(InvalidMarkup, match="unknown phoneme 'O'"):  # misaki's, not espeak's
        markup.check("Say [Kokoro](/kˈOkəɹO/).", piper)


def test_engines_without_an_inventory_refuse_markup() -> None:
    fake = FakeEngine(name="fake")
    markup.check("no markup here", fake)
    with pytest.raises(InvalidMarkup, match="does not take inline markup"):
        markup.check("wait [pause:1s] here", fake)


# --- speaking ----------------------------------------------------------------------------------


def test_kokoro_speaks_the_phonemes_given(kokoro: KokoroEngine) -> None:
    [(plain, _)] = kokoro.marked_phonemes("Say [Kokoro](/kəkˈɔːɹoʊ/) now.", "en")
    [(override, _)] = kokoro.marked_phonemes("Say [Kokoro](/kˈOkəɹOkˈOkəɹO/) now.", "en")
    assert "kˈOkəɹOkˈOkəɹO" in override and "kˈOkəɹO" not in plain
    short = spoken(kokoro, "Say [Kokoro](/kˈOkəɹO/) now.")
    long = spoken(kokoro, "Say [Kokoro](/kˈOkəɹOkˈOkəɹOkˈOkəɹO/) now.")
    assert long.duration_s > short.duration_s + 0.4  # twice "kokoro" more is said


def test_piper_speaks_the_phonemes_given(piper: PiperEngine) -> None:
    [(plain, _)] = piper.marked_phonemes("Say [Kokoro](/kˈoʊkəɹoʊ/) now.", "en")
    assert plain == "sˈeɪ kˈoʊkəɹoʊ nˈaʊ."
    short = spoken(piper, "Say [Kokoro](/kˈoʊkəɹoʊ/) now.")
    long = spoken(piper, "Say [Kokoro](/kˈoʊkəɹoʊkˈoʊkəɹoʊkˈoʊkəɹoʊ/) now.")
    assert long.duration_s > short.duration_s + 0.4


@pytest.mark.parametrize("engine", ["piper", "kokoro"])
def test_a_pause_is_that_much_silence(engine: str, request: pytest.FixtureRequest) -> None:
    tts = request.getfixturevalue(engine)
    paused, plain = spoken(tts, PAUSED), spoken(tts, PLAIN)
    assert abs(longest_silence_s(paused) - 1.5) <= 0.05
    assert longest_silence_s(plain) < 0.5
    assert abs(longest_silence_s(spoken(tts, "One. [pause:0.6s] Two.")) - 0.6) <= 0.05


@pytest.mark.parametrize("engine", ["piper", "kokoro"])
def test_marked_up_text_cannot_be_timed(engine: str, request: pytest.FixtureRequest) -> None:
    tts = request.getfixturevalue(engine)
    with pytest.raises(TimestampsUnsupported, match="inline markup"):
        tts.synthesize_timed(PAUSED, {}, SynthesisParams(language="en"))
