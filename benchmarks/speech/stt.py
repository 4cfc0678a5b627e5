"""Speech to text: word error rate and real-time factor of the ``whisper`` engine.

Over every clip of ``../shared/eval/speech/manifest.csv`` that has a transcript, with the
engine as voxclone builds it from default settings (tiny.en, int8, beam 5, VAD filter).
The model is warmed up on one clip first. WER is jiwer's over the whole set (every word
counts once) after normalisation: lower case, punctuation dropped, numbers up to 99 written
as words (Whisper writes "6", transcripts "six"). RTF is processing time over audio duration
per clip; the median is reported, with the range.

    .venv/bin/python benchmarks/speech_services.py --only stt
"""

from __future__ import annotations

import csv
import os
import re
import statistics
import time
from pathlib import Path

import jiwer
import soundfile as sf

from voxclone.config import Settings
from voxclone.core.types import Audio
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry

REPO = Path(__file__).resolve().parents[2]
SPEECH = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared")) / "eval" / "speech"

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = {"1st": "first", "2nd": "second", "3rd": "third", "5th": "fifth", "20th": "twentieth"}


def _number(match: re.Match[str]) -> str:
    token = match.group()
    if token in _ORDINALS:
        return _ORDINALS[token]
    if not token.isdigit() or int(token) > 99:
        return token
    value = int(token)
    if value < 20:
        return _ONES[value]
    tens, ones = divmod(value, 10)
    return _TENS[tens - 2] + (f" {_ONES[ones]}" if ones else "")


def normalize(text: str) -> str:
    text = re.sub(r"\d+(?:st|nd|rd|th)?", _number, text.lower())
    kept = "".join(ch if ch.isalnum() or ch in " '" else " " for ch in text.replace("-", " "))
    return " ".join(kept.replace("'", "").split())


def _clips() -> list[tuple[Path, str]]:
    with (SPEECH / "manifest.csv").open(newline="") as f:
        return [(SPEECH / r["path"], r["transcript"]) for r in csv.DictReader(f) if r["transcript"]]


def measure() -> list[dict[str, object]]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    registry = EngineRegistry([s for s in builtin_specs(settings) if s.name == "whisper"])
    engine = registry.get_stt("whisper")
    clips = _clips()
    try:
        first = sf.read(clips[0][0], dtype="float32")
        engine.transcribe(Audio(first[0], first[1]), "en")  # warm-up
        references, hypotheses, rtfs = [], [], []
        total_audio = total_time = 0.0
        for path, transcript in clips:
            samples, rate = sf.read(path, dtype="float32")
            audio = Audio(samples if samples.ndim == 1 else samples.mean(axis=1), rate)
            started = time.perf_counter()
            said = engine.transcribe(audio, "en").text
            elapsed = time.perf_counter() - started
            references.append(normalize(transcript))
            hypotheses.append(normalize(said))
            rtfs.append(elapsed / audio.duration_s)
            total_audio += audio.duration_s
            total_time += elapsed
    finally:
        registry.close()
    wer = float(jiwer.wer(references, hypotheses))
    where = f"{len(clips)} clips, {total_audio:.0f} s; {engine.version}"
    return [
        {
            "service": "stt",
            "metric": "WER",
            "value": round(wer, 4),
            "detail": f"{where}; normalised (case, punctuation, numbers)",
        },
        {
            "service": "stt",
            "metric": "RTF",
            "value": round(statistics.median(rtfs), 4),
            "detail": f"median per clip, warm, range {min(rtfs):.3f}-{max(rtfs):.3f}; overall "
            f"{total_time / total_audio:.3f} ({total_time:.1f} s for {total_audio:.0f} s)",
        },
    ]


if __name__ == "__main__":
    for row in measure():
        print(row)
