"""How well and how fast do the built-in speech services work? One table.

    .venv/bin/python benchmarks/speech_services.py [--only stt,denoise,biometrics]

- stt: word error rate and real-time factor of Whisper (the ``whisper`` engine) on the
  transcribed clips of ``../shared/eval/speech``;
- denoise: SNR and SI-SDR improvement of DeepFilterNet3 (``deepfilternet``) on those clips mixed
  with white and babble noise at 0, 5 and 10 dB, and its real-time factor;
- biometrics: the equal-error rate of Resemblyzer verification on the eval speakers, the
  threshold at that rate (voxclone's default threshold comes from it), and verification latency.

Each part lives in ``benchmarks/speech/<part>.py`` as ``measure() -> rows``; this script runs
them in turn (models load once per part) and prints their rows together.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

PARTS = {"stt": "speech.stt", "denoise": "speech.denoise", "biometrics": "speech.biometrics"}


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_table(rows: list[dict[str, object]]) -> None:
    head = f"{'service':<11} {'metric':<28} {'value':>10}  detail"
    print(head)
    print("-" * len(head))
    for row in rows:
        print(
            f"{row['service']!s:<11} {row['metric']!s:<28} {_value(row['value']):>10}  "
            f"{row.get('detail', '')}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts to run")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    for part in args.only.split(","):
        if part not in PARTS:
            parser.error(f"unknown part {part!r}; known: {', '.join(PARTS)}")
        started = time.perf_counter()
        print(f"measuring {part} ...", file=sys.stderr, flush=True)
        rows.extend(importlib.import_module(PARTS[part]).measure())
        print(f"  {part} took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print_table(rows)


if __name__ == "__main__":
    main()
