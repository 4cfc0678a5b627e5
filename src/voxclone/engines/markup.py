"""Inline pronunciation markup in the text of a synthesis, for the built-in engines.

Two forms, as Kokoro-FastAPI (misaki) writes them:

- ``[Kokoro](/kˈOkəɹO/)``: the word is spoken with the phonemes between the slashes, in the
  engine's own phoneme alphabet (Kokoro: misaki's symbols; Piper: its voice's espeak IPA).
- ``[pause:1.5s]`` (or ``[pause:300ms]``): that much silence, 0 to ``MAX_PAUSE_S`` seconds.

``parse`` turns text into segments (``Words`` | ``Phonemes`` | ``Pause``); ``runs`` groups the
spoken segments between pauses, each run synthesized in one go; ``check`` validates the
phonemes against an engine's inventory up front so a bad symbol is a 422 naming it. An engine
that takes markup has ``phoneme_inventory()``; ``join_pause`` trims the speech around a pause so
the silence heard is the pause asked for.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxclone.core.errors import InvalidMarkup
from voxclone.core.types import FloatArray

MAX_PAUSE_S = 10.0
_MARKUP = re.compile(r"\[([^\[\]]*)\]\(/([^/)]*)/\)|\[\s*pause\b([^\]]*)\]", re.IGNORECASE)
_PAUSE = re.compile(r"^\s*:\s*(\d+(?:\.\d+)?|\.\d+)\s*(s|ms)\s*$", re.IGNORECASE)
_FRAME_S = 0.01
_SILENT_DB = -45.0
_FADE_S = 0.005


@dataclass(frozen=True, slots=True)
class Words:
    text: str


@dataclass(frozen=True, slots=True)
class Phonemes:
    word: str
    phonemes: str


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


Segment = Words | Phonemes | Pause


def has_markup(text: str) -> bool:
    """Whether ``text`` holds any inline markup."""
    return _MARKUP.search(text) is not None


def split_markup(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into plain stretches and markup, in order: ``(piece, is_markup)``."""
    out: list[tuple[str, bool]] = []
    at = 0
    for match in _MARKUP.finditer(text):
        if match.start() > at:
            out.append((text[at : match.start()], False))
        out.append((match.group(0), True))
        at = match.end()
    if at < len(text):
        out.append((text[at:], False))
    return out


def parse(text: str) -> list[Segment]:
    """``text`` as segments in order; raises ``InvalidMarkup`` (422) for a malformed or
    out-of-range pause or an empty phoneme override."""
    segments: list[Segment] = []
    at = 0
    for match in _MARKUP.finditer(text):
        if match.start() > at:
            segments.append(Words(text[at : match.start()]))
        at = match.end()
        word, phonemes, pause = match.groups()
        if pause is not None:
            segments.append(Pause(_pause_seconds(match.group(0), pause)))
        elif not phonemes.strip():
            raise InvalidMarkup(
                f"the phoneme override {match.group(0)!r} names no phonemes",
                markup=match.group(0),
            )
        else:
            segments.append(Phonemes(word, " ".join(phonemes.split())))
    if at < len(text):
        segments.append(Words(text[at:]))
    return segments


def _pause_seconds(markup: str, value: str) -> float:
    found = _PAUSE.match(value)
    if found is None:
        raise InvalidMarkup(
            f"malformed pause {markup!r}: write [pause:1.5s] or [pause:300ms]", markup=markup
        )
    seconds = float(found.group(1)) / (1000.0 if found.group(2).lower() == "ms" else 1.0)
    if not 0.0 <= seconds <= MAX_PAUSE_S:
        raise InvalidMarkup(
            f"pause {markup!r} is {seconds:g} s; a pause may last 0 to {MAX_PAUSE_S:g} s",
            markup=markup,
            max_s=MAX_PAUSE_S,
        )
    return seconds


def runs(segments: list[Segment]) -> list[tuple[list[Words | Phonemes], float | None]]:
    """The spoken segments between pauses, each with the pause after it (None: none; a
    leading pause gives a run with no segments)."""
    out: list[tuple[list[Words | Phonemes], float | None]] = []
    current: list[Words | Phonemes] = []
    for segment in segments:
        if isinstance(segment, Pause):
            out.append((current, segment.seconds))
            current = []
        else:
            current.append(segment)
    if current:
        out.append((current, None))
    return out


def check(text: str, engine: Any) -> None:
    """Refuse markup ``engine`` cannot speak (422): a malformed pause, phoneme overrides for an
    engine without a phoneme inventory, or a symbol not in that inventory (named)."""
    if not has_markup(text):
        return
    segments = parse(text)
    overrides = [s for s in segments if isinstance(s, Phonemes)]
    inventory = getattr(engine, "phoneme_inventory", None)
    if inventory is None:
        raise InvalidMarkup(
            f"engine {engine.name!r} does not take inline markup ([word](/phonemes/), "
            "[pause:1s]); the built-in engines do",
            backend=engine.name,
        )
    known = inventory()
    for override in overrides:
        check_phonemes(override, known, engine.name)


def check_phonemes(override: Phonemes, known: Collection[str], engine: str) -> None:
    """Raise ``InvalidMarkup`` naming the first symbol of ``override`` not in ``known``."""
    for symbol in override.phonemes:
        if symbol not in known:
            raise InvalidMarkup(
                f"unknown phoneme {symbol!r} (U+{ord(symbol):04X}) in "
                f"[{override.word}](/{override.phonemes}/) for engine {engine!r}",
                symbol=symbol,
                word=override.word,
                backend=engine,
            )


def join_pause(
    samples: FloatArray, rate: int, *, trim_start: bool, trim_end: bool, pause_s: float | None
) -> FloatArray:
    """``samples`` with the silence cut off the sides next to a pause (faded over 5 ms) and
    ``pause_s`` seconds of silence after it, so the gap heard is the pause asked for."""
    start, end = 0, samples.size
    frame = max(1, round(_FRAME_S * rate))
    usable = samples[: samples.size // frame * frame].reshape(-1, frame)
    if usable.size and (trim_start or trim_end):
        level = np.sqrt(np.mean(np.square(usable, dtype=np.float64), axis=1))
        active = np.flatnonzero(level > level.max() * 10 ** (_SILENT_DB / 20))
        if active.size and level.max() > 0:
            if trim_start:
                start = int(active[0]) * frame
            if trim_end:
                end = min(samples.size, (int(active[-1]) + 1) * frame)
    speech = np.array(samples[start:end], dtype=np.float32)
    fade = min(round(_FADE_S * rate), speech.size // 2)
    if fade:
        ramp = (np.arange(fade, dtype=np.float32) + 0.5) / fade
        if trim_start:
            speech[:fade] *= ramp
        if trim_end:
            speech[speech.size - fade :] *= ramp[::-1]
    pause = np.zeros(round((pause_s or 0.0) * rate), dtype=np.float32)
    return np.concatenate([speech, pause])
