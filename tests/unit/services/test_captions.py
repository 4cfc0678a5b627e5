"""Captions of generated speech: cues from timed words, written as SRT and WebVTT."""

from __future__ import annotations

import pytest

from voxclone.core.errors import UnsupportedFormat
from voxclone.engines.alignment import WordTiming
from voxclone.services.captions import MAX_CHARS, captions, cues


def timed(text: str, seconds_each: float = 0.4) -> list[WordTiming]:
    return [
        WordTiming(word, i * seconds_each, i * seconds_each + seconds_each * 0.8)
        for i, word in enumerate(text.split())
    ]


def test_a_cue_ends_with_its_sentence_but_not_after_a_title() -> None:
    got = cues(timed("Hello Dr. Smith. It is J. R. R. Tolkien! Yes?"))
    assert [c.text for c in got] == ["Hello Dr. Smith.", "It is J. R. R. Tolkien!", "Yes?"]
    assert got[0].start_s == 0.0 and got[0].end_s == pytest.approx(2 * 0.4 + 0.32)
    assert got[1].start_s == pytest.approx(1.2)


def test_cues_stay_short() -> None:
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    got = cues(timed(text, 0.3))
    assert " ".join(c.text for c in got) == text
    assert all(len(c.text) <= MAX_CHARS for c in got) and len(got) > 1
    slow = cues(timed("a b c d e f g h", 1.0))
    assert all(c.end_s - c.start_s <= 5.0 for c in slow) and len(slow) > 1


def test_srt_and_vtt() -> None:
    words = timed("Hi there. Bye now.")
    assert captions(words, "srt") == (
        "1\n00:00:00,000 --> 00:00:00,720\nHi there.\n\n"
        "2\n00:00:00,800 --> 00:00:01,520\nBye now.\n"
    )
    assert captions(words, " VTT ") == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:00.720\nHi there.\n\n"
        "00:00:00.800 --> 00:00:01.520\nBye now.\n"
    )
    assert captions([], "vtt") == "WEBVTT\n"


def test_unknown_caption_format() -> None:
    with pytest.raises(UnsupportedFormat, match="use one of srt, vtt"):
        captions(timed("Hi."), "ass")
