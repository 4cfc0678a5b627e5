"""What does each built-in engine cost in memory? RSS after loading it and using it once.

    .venv/bin/python benchmarks/engine_memory.py [--engines piper,local,whisper,...]

Each engine is measured in a fresh Python process (so one engine's libraries do not hide
another's): RSS of the process with voxclone imported and the registry built (the base), then
after the engine is loaded and has done one piece of work (synthesis of a sentence, a
transcription, an embedding, a denoise of a real clip). A last row loads every engine in one
process, as the embedded server does once all have been used. Figures are MB of RSS (VmRSS)
and of peak RSS (VmHWM), from /proc.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ENGINES = ["piper", "local", "whisper", "resemblyzer", "deepfilternet"]
CHILD = r"""
import json, sys, tempfile
from pathlib import Path

def rss():
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields

from voxclone.config import Settings
from voxclone.engines.base import SynthesisParams
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.audio import decode_audio

clip = Path(sys.argv[2]).read_bytes()
audio = decode_audio(clip, max_seconds=60).audio
settings = Settings(_env_file=None, data_dir=Path(tempfile.mkdtemp()))
registry = EngineRegistry(builtin_specs(settings))
base = rss()
for name in sys.argv[1].split(","):
    spec = registry.spec(name)
    engine = registry.get(name)
    if spec.kind == "tts":
        prompt = engine.create_voice_prompt(audio, None)
        list(engine.synthesize("Memory is measured after one sentence.", prompt, SynthesisParams()))
    elif spec.kind == "stt":
        engine.transcribe(audio, "en")
    elif spec.kind == "embed":
        engine.embed(audio)
    elif spec.kind == "denoise":
        engine.denoise(audio)
print(json.dumps({"base": base, "after": rss()}))
"""


def measure(engines: str, clip: Path) -> dict[str, dict[str, float]]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, engines, str(clip)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.e2e.test_piper_end_to_end import reference_clip

    clip = reference_clip()
    names = args.engines.split(",")
    rows = []
    with tempfile.TemporaryDirectory():
        for name in [*names, ",".join(names)]:
            result = measure(name, clip)
            base, after = result["base"], result["after"]
            label = "all of them, one process" if "," in name else name
            rows.append((label, base["VmRSS"], after["VmRSS"], after["VmHWM"]))
    print(f"{'engine':<28} {'base MB':>8} {'loaded MB':>10} {'engine MB':>10} {'peak MB':>8}")
    for label, base_mb, after_mb, peak_mb in rows:
        cost = after_mb - base_mb
        print(f"{label:<28} {base_mb:>8.0f} {after_mb:>10.0f} {cost:>10.0f} {peak_mb:>8.0f}")


if __name__ == "__main__":
    main()
