"""Scripts (``NAME: line`` per paragraph, stage directions in brackets) and the flow layout.

Pure functions, no I/O. A script becomes a list of lines and pauses; laid out, each line is a
text clip that *flows*: it starts ``flow_gap_s`` after the end of the flowing clip before it.
Before a clip is synthesized its length is an estimate; each render lays the flow out again
with the real lengths (``reflow``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voxclone.core.errors import Unprocessable

SECONDS_PER_CHAR = 0.065
"""Estimated speech per character at speed 1 (about 15 characters a second)."""
MIN_ESTIMATE_S = 0.3

_SPEAKER = re.compile(r"^\s*([^\[\]:\n]{1,80}?)\s*:\s*(.*)$")
_DIRECTION = re.compile(r"\[([^\[\]]*)\]")
_SECONDS = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?)?\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ScriptLine:
    speaker: str
    text: str


@dataclass(frozen=True, slots=True)
class ScriptPause:
    seconds: float


@dataclass(frozen=True, slots=True)
class LaidOutLine:
    speaker: str
    text: str
    flow_gap_s: float
    """Silence before this line: the gap, plus any pauses since the line before."""


def pause_seconds(direction: str, *, default_s: float) -> float:
    """``[pause 2s]`` → 2.0, ``[500ms]`` → 0.5, ``[laughs]`` → ``default_s``."""
    found = _SECONDS.search(direction)
    if found is None:
        return default_s
    value = float(found.group(1))
    unit = (found.group(2) or "s").lower()
    return value / 1000.0 if unit.startswith("m") else value


def parse_script(script: str, *, default_pause_s: float) -> list[ScriptLine | ScriptPause]:
    """Lines and pauses in order. A line ``NAME: text`` starts a paragraph; lines without a
    name continue it; a blank line ends it. Bracketed directions split a paragraph into
    lines with a pause between them."""
    paragraphs: list[tuple[str | None, str]] = []
    speaker: str | None = None
    open_paragraph = False
    for raw in script.splitlines():
        line = raw.strip()
        if not line:
            open_paragraph = False
            continue
        named = _SPEAKER.match(line)
        if named and not line.startswith("["):
            speaker = named.group(1).strip()
            paragraphs.append((speaker, named.group(2).strip()))
            open_paragraph = True
        elif open_paragraph and paragraphs:
            name, text = paragraphs[-1]
            paragraphs[-1] = (name, f"{text} {line}".strip())
        else:
            paragraphs.append((None, line))  # a direction alone, or text with no speaker
    items: list[ScriptLine | ScriptPause] = []
    for number, (name, text) in enumerate(paragraphs, start=1):
        position = 0
        for direction in _DIRECTION.finditer(text):
            _add_text(items, name, text[position : direction.start()], number)
            items.append(ScriptPause(pause_seconds(direction.group(1), default_s=default_pause_s)))
            position = direction.end()
        _add_text(items, name, text[position:], number)
    return items


def _add_text(items: list[ScriptLine | ScriptPause], name: str | None, text: str, n: int) -> None:
    text = text.strip()
    if not text:
        return
    if name is None:
        raise Unprocessable(
            f"script paragraph {n} has no speaker: write it as 'NAME: {text[:40]}'",
            field="script",
            paragraph=n,
        )
    items.append(ScriptLine(speaker=name, text=text))


def lay_out(items: list[ScriptLine | ScriptPause], *, gap_s: float) -> list[LaidOutLine]:
    """Each line with the silence before it: ``gap_s`` between lines, plus the pauses."""
    laid: list[LaidOutLine] = []
    pending = 0.0
    for item in items:
        if isinstance(item, ScriptPause):
            pending += item.seconds
            continue
        before = (gap_s if laid else 0.0) + pending
        laid.append(LaidOutLine(speaker=item.speaker, text=item.text, flow_gap_s=before))
        pending = 0.0
    return laid


def estimate_s(text: str, *, speed: float = 1.0) -> float:
    """How long ``text`` will take to say, before it is synthesized."""
    return max(MIN_ESTIMATE_S, len(text) * SECONDS_PER_CHAR / max(speed, 0.01))


@dataclass(frozen=True, slots=True)
class Timing:
    clip_id: str
    start_s: float
    length_s: float
    flow_gap_s: float | None


def reflow(timings: list[Timing]) -> dict[str, float]:
    """New start times of the flowing clips; placed clips keep theirs.

    A flowing clip starts its gap after the later of: the end of the flowing clip before it
    (in time order), and the ends of the placed clips that ended before it started (an intro
    before a script; not a music bed under it).
    """
    starts: dict[str, float] = {}
    placed_ends = [t.start_s + t.length_s for t in timings if t.flow_gap_s is None]
    previous_end = 0.0
    for timing in sorted(timings, key=lambda t: t.start_s):
        if timing.flow_gap_s is None:
            continue
        before = [end for end in placed_ends if end <= timing.start_s + 1e-6]
        start = round(max([previous_end, *before]) + timing.flow_gap_s, 6)
        starts[timing.clip_id] = start
        previous_end = start + timing.length_s
    return starts
