"""A transcript written out as OpenAI's ``response_format`` values: text, SRT, WebVTT, JSON.

The JSON shapes follow OpenAI's ``/v1/audio/transcriptions``: ``json`` is ``{"text"}``;
``verbose_json`` adds ``task``, ``language`` (the language's English name, as OpenAI writes
it), ``duration``, ``segments`` and, when word timestamps were asked for, ``words``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from voxclone.engines.base import Segment, Transcript

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")

LANGUAGE_NAMES = {
    "en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian",
    "pt": "portuguese", "nl": "dutch", "pl": "polish", "ru": "russian", "uk": "ukrainian",
    "tr": "turkish", "ar": "arabic", "hi": "hindi", "ja": "japanese", "ko": "korean",
    "zh": "chinese", "sv": "swedish", "da": "danish", "no": "norwegian", "fi": "finnish",
    "cs": "czech", "el": "greek", "he": "hebrew", "hu": "hungarian", "id": "indonesian",
    "ro": "romanian", "sk": "slovak", "th": "thai", "vi": "vietnamese", "ca": "catalan",
}  # fmt: skip
"""ISO-639-1 code → the name OpenAI's verbose_json gives; other codes are passed through."""


def timestamp(seconds: float, *, separator: str) -> str:
    """``HH:MM:SS<separator>mmm``: SRT uses a comma, WebVTT a full stop. Rounded to the
    millisecond; negative times are clamped to zero."""
    millis = max(0, math.floor(seconds * 1000 + 0.5))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_text(transcript: Transcript) -> str:
    return transcript.text + "\n"


def to_srt(transcript: Transcript, speakers: Sequence[str | None] | None = None) -> str:
    """SubRip: numbered cues from 1, ``00:00:01,500 --> 00:00:03,000``, a blank line after each;
    with ``speakers`` (one per segment) each cue starts ``[A] ``."""
    cues = []
    for number, (segment, who) in enumerate(_spoken(transcript.segments, speakers), start=1):
        start = timestamp(segment.start_s, separator=",")
        end = timestamp(segment.end_s, separator=",")
        text = f"[{who}] {segment.text}" if who else segment.text
        cues.append(f"{number}\n{start} --> {end}\n{text}\n")
    return "\n".join(cues)


def to_vtt(transcript: Transcript, speakers: Sequence[str | None] | None = None) -> str:
    """WebVTT: the ``WEBVTT`` header, then ``00:00:01.500 --> 00:00:03.000`` cues; with
    ``speakers`` each cue is a voice span, ``<v A>text``."""
    cues = ["WEBVTT\n"]
    for segment, who in _spoken(transcript.segments, speakers):
        start = timestamp(segment.start_s, separator=".")
        end = timestamp(segment.end_s, separator=".")
        text = f"<v {who}>{segment.text}" if who else segment.text
        cues.append(f"{start} --> {end}\n{text}\n")
    return "\n".join(cues)


def to_json(transcript: Transcript) -> dict[str, Any]:
    return {"text": transcript.text}


def to_verbose_json(
    transcript: Transcript,
    *,
    duration_s: float,
    words: bool,
    segments: bool = True,
    task: str = "transcribe",
) -> dict[str, Any]:
    """``task`` translate: ``language`` is the output's, always english (as OpenAI's)."""
    body: dict[str, Any] = {
        "task": task,
        "language": "english" if task == "translate" else language_name(transcript.language),
        "duration": round(duration_s, 3),
        "text": transcript.text,
    }
    if segments:
        body["segments"] = [_segment(i, s) for i, s in enumerate(transcript.segments)]
    if words:
        body["words"] = [
            {"word": w.word.strip(), "start": w.start_s, "end": w.end_s}
            for s in transcript.segments
            for w in s.words
        ]
    return body


def language_name(code: str | None) -> str:
    if not code:
        return "unknown"
    return LANGUAGE_NAMES.get(code, code)


def _segment(index: int, segment: Segment) -> dict[str, Any]:
    return {
        "id": index,
        "seek": segment.seek,
        "start": segment.start_s,
        "end": segment.end_s,
        "text": segment.text,
        "tokens": list(segment.tokens),
        "temperature": segment.temperature if segment.temperature is not None else 0.0,
        "avg_logprob": segment.avg_logprob if segment.avg_logprob is not None else 0.0,
        "compression_ratio": segment.compression_ratio
        if segment.compression_ratio is not None
        else 0.0,
        "no_speech_prob": segment.no_speech_prob if segment.no_speech_prob is not None else 0.0,
    }


def _spoken(
    segments: tuple[Segment, ...], speakers: Sequence[str | None] | None
) -> list[tuple[Segment, str | None]]:
    labels = speakers if speakers is not None else [None] * len(segments)
    return [(s, who) for s, who in zip(segments, labels, strict=True) if s.text.strip()]
