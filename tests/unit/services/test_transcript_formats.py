"""SRT, WebVTT and OpenAI JSON shapes of a transcript (no engine: hand-made transcripts)."""

from __future__ import annotations

import pytest

from voxclone.engines.base import Segment, Transcript, Word
from voxclone.services.transcript_formats import (
    language_name,
    timestamp,
    to_json,
    to_srt,
    to_text,
    to_verbose_json,
    to_vtt,
)

TRANSCRIPT = Transcript(
    text="Hello there. General Kenobi.",
    segments=(
        Segment(
            start_s=0.0,
            end_s=1.5,
            text="Hello there.",
            words=(Word(0.0, 0.6, " Hello"), Word(0.6, 1.5, " there.")),
            seek=0,
            tokens=(50363, 2425),
            temperature=0.0,
            avg_logprob=-0.25,
            compression_ratio=0.8,
            no_speech_prob=0.01,
        ),
        Segment(start_s=3661.2345, end_s=3662.0, text="General Kenobi."),
    ),
    language="en",
    duration_s=3662.0,
)


@pytest.mark.parametrize(
    ("seconds", "srt", "vtt"),
    [
        (0.0, "00:00:00,000", "00:00:00.000"),
        (1.5, "00:00:01,500", "00:00:01.500"),
        (59.9996, "00:01:00,000", "00:01:00.000"),  # rounds up across the minute
        (3661.2345, "01:01:01,235", "01:01:01.235"),
        (-0.2, "00:00:00,000", "00:00:00.000"),
        (100 * 3600.0, "100:00:00,000", "100:00:00.000"),
    ],
)
def test_timestamps(seconds: float, srt: str, vtt: str) -> None:
    assert timestamp(seconds, separator=",") == srt
    assert timestamp(seconds, separator=".") == vtt


def test_srt_numbers_cues_from_one() -> None:
    assert to_srt(TRANSCRIPT) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n"
        "\n"
        "2\n01:01:01,235 --> 01:01:02,000\nGeneral Kenobi.\n"
    )


def test_vtt_has_its_header_and_dots() -> None:
    assert to_vtt(TRANSCRIPT) == (
        "WEBVTT\n"
        "\n"
        "00:00:00.000 --> 00:00:01.500\nHello there.\n"
        "\n"
        "01:01:01.235 --> 01:01:02.000\nGeneral Kenobi.\n"
    )


def test_empty_transcript_formats() -> None:
    empty = Transcript(text="", segments=(), language="en")
    assert to_srt(empty) == ""
    assert to_vtt(empty) == "WEBVTT\n"
    assert to_text(empty) == "\n"
    assert to_json(empty) == {"text": ""}


def test_verbose_json_is_openais_shape() -> None:
    body = to_verbose_json(TRANSCRIPT, duration_s=3662.0, words=True)
    assert body["task"] == "transcribe"
    assert body["language"] == "english"
    assert body["duration"] == 3662.0
    assert body["text"] == TRANSCRIPT.text
    first = body["segments"][0]
    assert set(first) == {
        "id", "seek", "start", "end", "text", "tokens", "temperature",
        "avg_logprob", "compression_ratio", "no_speech_prob",
    }  # fmt: skip
    assert first["tokens"] == [50363, 2425] and first["avg_logprob"] == -0.25
    assert [s["id"] for s in body["segments"]] == [0, 1]
    assert body["words"] == [
        {"word": "Hello", "start": 0.0, "end": 0.6},
        {"word": "there.", "start": 0.6, "end": 1.5},
    ]
    assert "words" not in to_verbose_json(TRANSCRIPT, duration_s=1.0, words=False)
    assert "segments" not in to_verbose_json(TRANSCRIPT, duration_s=1.0, words=True, segments=False)


def test_language_names() -> None:
    assert language_name("de") == "german"
    assert language_name("xx") == "xx"
    assert language_name(None) == "unknown"
