"""From an engine's predicted phoneme durations to the timing of the text's characters.

Kokoro and Piper turn a sentence into phonemes with espeak, words separated by spaces, and
their duration predictors say how many audio samples each phoneme gets. ``chunk_alignment``
groups the timed phonemes into phoneme words and hands them out to the sentence's words:

- each word is phonemized alone (``word_counts``) to learn how many phoneme words it makes
  ("25" makes "twenty five", two); when the counts add up to the sentence's phoneme words,
  each word gets its own phoneme words, from the first one's start to the last one's end;
- otherwise (espeak read the sentence differently from its words, or a script without spaces,
  whose characters count as words here) the words share the phonemes in proportion to their
  lengths.

Within a word the time is spread evenly over its letters and digits; punctuation before or
after them takes no time at the word's edge; spaces span the gap between words. Characters
before the first word start at 0 and those after the last word end at the chunk's end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from voxclone.engines.alignment import Alignment

_WORD = re.compile(r"\S+")
_CJK = "\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_TOKEN = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
"""A word, or one character of a script written without spaces (Chinese, Japanese)."""


@dataclass(frozen=True, slots=True)
class Phone:
    """One phoneme symbol and when it sounds, in seconds from the chunk's start."""

    symbol: str
    start_s: float
    end_s: float


def spoken(symbol: str) -> bool:
    """Whether a phoneme symbol is a sound (not a space, a stress mark or punctuation)."""
    return (symbol.isalpha() and symbol not in "ˈˌ") or symbol in "ːˑ"


def phone_words(phones: Sequence[Phone]) -> list[tuple[float, float, int]]:
    """The phoneme words (runs between spaces) that hold a sound: (start, end, sounds)."""
    words: list[tuple[float, float, int]] = []
    run: list[Phone] = []
    for phone in [*phones, Phone(" ", 0.0, 0.0)]:
        if not phone.symbol.isspace():
            run.append(phone)
            continue
        sounds = [p for p in run if spoken(p.symbol)]
        if sounds:
            words.append((sounds[0].start_s, sounds[-1].end_s, len(sounds)))
        run = []
    return words


def trim_to_sound(
    phones: Sequence[Phone], samples: npt.NDArray[np.float32], rate: int
) -> list[Phone]:
    """``phones`` with the last sound of each word ended where the audio goes quiet.

    Duration predictors give a pause (at a comma, a full stop, or a breath between words) to
    the phoneme before it (Kokoro: "shore," holds its "ɹ" for 175 ms, 30 ms of which is heard),
    which would stretch the word's end into the pause. A word's last sound now ends 10 ms after
    its last 10 ms frame louder than ``-45 dB`` below the chunk's loudest; it never grows and
    keeps at least 20 ms.
    """
    frame = max(rate // 100, 1)
    usable = samples[: samples.size // frame * frame].astype(np.float64).reshape(-1, frame)
    if usable.size == 0:
        return list(phones)  # nothing heard: nothing to go by
    level = np.sqrt(np.mean(np.square(usable), axis=1))
    if level.max() <= 0:
        return list(phones)
    loud = level > level.max() * 10 ** (-45 / 20)
    out = list(phones)
    for i, phone in enumerate(phones[:-1]):
        following = phones[i + 1].symbol
        if not spoken(phone.symbol) or spoken(following) or following in "ˈˌ":
            continue
        first, last = int(phone.start_s * 100), min(int(phone.end_s * 100), loud.size)
        heard = np.flatnonzero(loud[first:last])
        end = (first + heard[-1] + 2) / 100 if heard.size else phone.start_s
        end = max(end, phone.start_s + 0.02)
        if end < phone.end_s:
            out[i] = replace(phone, end_s=end)
    return out


def count_words(phonemes: str) -> int:
    """How many phoneme words (with a sound) a phoneme string holds."""
    return sum(1 for word in phonemes.split() if any(spoken(ch) for ch in word))


def word_counts(text: str, phonemize: Callable[[str], str]) -> list[int]:
    """For each whitespace-separated word of ``text``, the phoneme words it makes alone."""
    counts = []
    for match in _WORD.finditer(text):
        word = match.group(0)
        counts.append(count_words(phonemize(word)) if any(c.isalnum() for c in word) else 0)
    return counts


def chunk_alignment(
    text: str,
    phones: Sequence[Phone],
    *,
    counts: Sequence[int] | None,
    duration_s: float,
    lead: str = "",
) -> Alignment:
    """The alignment of ``lead + text`` over a chunk of ``duration_s`` seconds whose phonemes
    sound at ``phones``; ``counts`` is ``word_counts(text, ...)`` (None: share by length)."""
    tokens = list(_TOKEN.finditer(text))
    spans = _word_times([m.group(0) for m in tokens], phones, counts)
    starts = [0.0] * len(text)
    ends = [0.0] * len(text)
    previous_end = 0.0
    for match, (start, end) in zip(tokens, spans, strict=True):
        start = min(max(start, previous_end), duration_s)
        end = min(max(end, start), duration_s)
        word = match.group(0)
        letters = [i for i, ch in enumerate(word) if ch.isalnum()]
        step = (end - start) / max(len(letters), 1)
        first = letters[0] if letters else len(word)
        for i in range(len(word)):
            k = match.start() + i
            if letters and first <= i <= letters[-1]:
                position = sum(1 for j in letters if j < i)
                starts[k] = start + position * step
                ends[k] = start + (position + 1) * step if word[i].isalnum() else starts[k]
            else:
                starts[k] = ends[k] = start if i < first else end
        gap_start = previous_end
        for k in range(_gap_begin(text, match.start()), match.start()):
            starts[k], ends[k] = gap_start, start
        previous_end = end
    tail = tokens[-1].end() if tokens else 0
    for k in range(tail, len(text)):
        starts[k], ends[k] = previous_end, duration_s
    if tokens and tokens[-1].end() == len(text):
        last = tokens[-1].end() - 1
        ends[last] = max(ends[last], duration_s) if not text[last].isalnum() else ends[last]
    first_start = spans[0][0] if spans else duration_s
    lead_part = Alignment.of(lead, [0.0] * len(lead), [min(first_start, duration_s)] * len(lead))
    return Alignment.joined([lead_part, Alignment.of(text, starts, ends)])


def _gap_begin(text: str, before: int) -> int:
    k = before
    while k > 0 and text[k - 1].isspace():
        k -= 1
    return k


def _word_times(
    words: Sequence[str], phones: Sequence[Phone], counts: Sequence[int] | None
) -> list[tuple[float, float]]:
    groups = phone_words(phones)
    if not words:
        return []
    if not groups:
        return [(0.0, 0.0)] * len(words)
    if counts is not None and len(counts) == len(words) and sum(counts) == len(groups):
        times: list[tuple[float, float]] = []
        used = 0
        for count in counts:
            if count == 0:
                at = groups[used - 1][1] if used else groups[0][0]
                times.append((at, at))
                continue
            own = groups[used : used + count]
            times.append((own[0][0], own[-1][1]))
            used += count
        return times
    return _shared(words, groups)


def _shared(
    words: Sequence[str], groups: Sequence[tuple[float, float, int]]
) -> list[tuple[float, float]]:
    """Each word's share of the sounds, in proportion to its letters and digits."""
    sounds = [
        (start + (end - start) * i / count, start + (end - start) * (i + 1) / count)
        for start, end, count in groups
        for i in range(count)
    ]
    weights = [sum(1 for ch in word if ch.isalnum()) for word in words]
    total = sum(weights) or 1
    times = []
    done = 0
    for weight in weights:
        a = done * len(sounds) / total
        done += weight
        b = done * len(sounds) / total
        first = min(int(a), len(sounds) - 1)
        last = min(max(int(-(-b // 1)) - 1, first), len(sounds) - 1)
        times.append((sounds[first][0], sounds[last][1]) if weight else (sounds[first][0],) * 2)
    return times
