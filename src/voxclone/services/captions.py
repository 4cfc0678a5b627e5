"""Captions of generated speech: its timed words as SRT or WebVTT cues.

A cue is one line of at most ``MAX_CHARS`` characters and ``MAX_SECONDS`` seconds, and ends
after a word that ends a sentence (not after "Dr." or an initial); it lasts from its first
word's start to its last word's end. The files are written as transcripts are
(``transcript_formats``).
"""

from __future__ import annotations

from collections.abc import Sequence

from voxclone.core.errors import UnsupportedFormat
from voxclone.engines.alignment import WordTiming
from voxclone.engines.base import Segment, Transcript
from voxclone.engines.text import TITLE_ABBREVIATIONS
from voxclone.services.transcript_formats import to_srt, to_vtt

CAPTION_FORMATS = ("srt", "vtt")
MEDIA_TYPES = {"srt": "application/x-subrip", "vtt": "text/vtt"}
MAX_CHARS = 42
MAX_SECONDS = 5.0
_SENTENCE_END = tuple(".!?…。！？")


def cues(words: Sequence[WordTiming]) -> list[Segment]:
    """The words grouped into caption cues (see the module docstring)."""
    groups: list[list[WordTiming]] = []
    for word in words:
        current = groups[-1] if groups else None
        if current is not None:
            length = sum(len(w.word) + 1 for w in current) + len(word.word) - 1
            ended = _ends_sentence(current[-1].word)
            if not ended and length <= MAX_CHARS and word.end_s - current[0].start_s <= MAX_SECONDS:
                current.append(word)
                continue
        groups.append([word])
    return [
        Segment(
            start_s=group[0].start_s,
            end_s=max(group[-1].end_s, group[0].start_s),
            text=" ".join(w.word for w in group),
        )
        for group in groups
    ]


def _ends_sentence(word: str) -> bool:
    """Whether ``word`` ends a sentence (not a title such as "Dr." or an initial)."""
    bare = word.rstrip("\"')]»”’")
    if not bare.endswith(_SENTENCE_END):
        return False
    stem = bare.rstrip(".").lstrip("\"'([«“‘")
    return not (stem.lower() in TITLE_ABBREVIATIONS or (len(stem) == 1 and stem.isupper()))


def captions(words: Sequence[WordTiming], fmt: str) -> str:
    """The words as an SRT or WebVTT file; UnsupportedFormat for any other ``fmt``."""
    fmt = fmt.strip().lower()
    transcript = Transcript(text=" ".join(w.word for w in words), segments=tuple(cues(words)))
    if fmt == "srt":
        return to_srt(transcript)
    if fmt == "vtt":
        return to_vtt(transcript)
    raise UnsupportedFormat(
        f"caption format {fmt!r} is not supported; use one of {', '.join(CAPTION_FORMATS)}",
        field="caption_format",
        format=fmt,
        supported=list(CAPTION_FORMATS),
    )
