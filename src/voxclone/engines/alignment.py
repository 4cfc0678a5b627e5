"""When each character of spoken text is heard: ElevenLabs' ``alignment`` shape, and words.

An ``Alignment`` holds one start and one end time (seconds from the start of the audio it
belongs to) per character of the text, spaces and punctuation included, in ElevenLabs'
``{"characters", "character_start_times_seconds", "character_end_times_seconds"}`` form.
Times never decrease and each end is at or after its start. Engines make one per chunk
(``engines/timing.py``); the service joins them, shifting each by the chunk's offset.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class WordTiming:
    """One whitespace-separated word (punctuation attached) and when it is heard."""

    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Alignment:
    """Character timing of spoken text, in seconds from the start of its audio."""

    characters: tuple[str, ...]
    starts: tuple[float, ...]
    ends: tuple[float, ...]

    def __post_init__(self) -> None:
        if not len(self.characters) == len(self.starts) == len(self.ends):
            raise ValueError(
                f"an alignment needs one start and end per character: {len(self.characters)} "
                f"characters, {len(self.starts)} starts, {len(self.ends)} ends"
            )

    @staticmethod
    def empty() -> Alignment:
        return Alignment((), (), ())

    @staticmethod
    def of(text: str, starts: Sequence[float], ends: Sequence[float]) -> Alignment:
        """An alignment of ``text`` with times rounded to the millisecond."""
        return Alignment(
            tuple(text),
            tuple(round(float(t), 3) for t in starts),
            tuple(round(float(t), 3) for t in ends),
        )

    @staticmethod
    def joined(parts: Sequence[Alignment]) -> Alignment:
        """The parts one after the other (their times already on one clock)."""
        return Alignment(
            tuple(c for p in parts for c in p.characters),
            tuple(t for p in parts for t in p.starts),
            tuple(t for p in parts for t in p.ends),
        )

    @property
    def text(self) -> str:
        return "".join(self.characters)

    @property
    def end_s(self) -> float:
        return self.ends[-1] if self.ends else 0.0

    def shifted(self, offset_s: float) -> Alignment:
        """The same timing ``offset_s`` seconds later (a chunk placed in the whole audio)."""
        return Alignment.of(
            self.text, [t + offset_s for t in self.starts], [t + offset_s for t in self.ends]
        )

    def clamped(self, low: float, high: float) -> Alignment:
        """Every time moved into ``[low, high]``."""
        return Alignment.of(
            self.text,
            [min(max(t, low), high) for t in self.starts],
            [min(max(t, low), high) for t in self.ends],
        )

    def split_at(self, boundaries: Sequence[float]) -> list[Alignment]:
        """The characters cut into ``len(boundaries) + 1`` runs: a character belongs to the
        first run whose boundary is after its start, whitespace to the run of the character
        after it (so a run after a cut begins with the space); times are left as they are."""
        owner: list[int] = []
        run = 0
        for start in self.starts:
            while run < len(boundaries) and start >= boundaries[run]:
                run += 1
            owner.append(run)
        for i in range(len(owner) - 2, -1, -1):
            if self.characters[i].isspace():
                owner[i] = owner[i + 1]
        runs: list[list[int]] = [[] for _ in range(len(boundaries) + 1)]
        for i, run in enumerate(owner):
            runs[run].append(i)
        return [
            Alignment(
                tuple(self.characters[i] for i in idx),
                tuple(self.starts[i] for i in idx),
                tuple(self.ends[i] for i in idx),
            )
            for idx in runs
        ]

    def onto(self, text: str) -> Alignment:
        """The same timing over another spelling of the text (the request's own text, before
        whitespace was collapsed): matching characters keep their times, the others take the
        times around them."""
        if text == self.text:
            return self
        starts: list[float | None] = [None] * len(text)
        ends: list[float | None] = [None] * len(text)
        matcher = difflib.SequenceMatcher(None, self.text, text, autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                starts[block.b + k] = self.starts[block.a + k]
                ends[block.b + k] = self.ends[block.a + k]
        last = 0.0
        filled_starts: list[float] = []
        filled_ends: list[float] = []
        for i in range(len(text)):
            start = starts[i]
            if start is None:
                following = next((s for s in starts[i:] if s is not None), None)
                filled_starts.append(last)
                filled_ends.append(following if following is not None else max(last, self.end_s))
                continue
            filled_starts.append(start)
            end = ends[i]
            last = end if end is not None else start
            filled_ends.append(last)
        return Alignment.of(text, filled_starts, filled_ends)

    def to_elevenlabs(self) -> dict[str, Any]:
        """``{"characters", "character_start_times_seconds", "character_end_times_seconds"}``."""
        return {
            "characters": list(self.characters),
            "character_start_times_seconds": list(self.starts),
            "character_end_times_seconds": list(self.ends),
        }


def words_of(alignment: Alignment) -> list[WordTiming]:
    """The whitespace-separated words of the alignment's text (punctuation attached), each
    from its first letter or digit's start to its last one's end; words with no letter or digit
    (a lone dash) are left out."""
    words = []
    for match in _WORD.finditer(alignment.text):
        word = match.group(0)
        spoken = [match.start() + i for i, ch in enumerate(word) if ch.isalnum()]
        if spoken:
            words.append(WordTiming(word, alignment.starts[spoken[0]], alignment.ends[spoken[-1]]))
    return words
