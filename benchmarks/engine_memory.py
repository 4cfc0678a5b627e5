"""What does each built-in engine cost in memory? RSS after loading it and using it once, and
what unloading it (``engines.idle_unload_s``) gives back and costs the next request.

    .venv/bin/python benchmarks/engine_memory.py [--engines piper,local,whisper,...]

Each engine is measured in a fresh Python process (so one engine's libraries do not hide
another's): RSS of the process with voxclone imported and the registry built (the base), then
after the engine is loaded and has done one piece of work (synthesis of a sentence, a
transcription, an embedding, a denoise of a real clip). A last row loads every engine in one
process, as the embedded server does once all have been used. Figures are MB of RSS (VmRSS)
and of peak RSS (VmHWM), from /proc. Per engine, also: the seconds of its first use (load and
work), of the same work once loaded, the RSS after the registry unloads it (as the idle
unloader does; glibc asked to return freed memory), and the seconds of the first use after
that (the reload cost a request pays).
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
import ctypes, gc, json, sys, tempfile, time
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
prompts = {}

# Seconds to get the engine (loading it if needed) and do one piece of work; a voice prompt
# (Kokoro's is a fit of tens of seconds) is made once, outside the timing.
def timed(name):
    started = time.perf_counter()
    engine = registry.get(name)
    spent = time.perf_counter() - started
    spec = registry.spec(name)
    if spec.kind == "tts" and name not in prompts:
        prompts[name] = engine.create_voice_prompt(audio, None)
    started = time.perf_counter()
    if spec.kind == "tts":
        text = "Memory is measured after one sentence."
        list(engine.synthesize(text, prompts[name], SynthesisParams()))
    elif spec.kind == "stt":
        engine.transcribe(audio, "en")
    elif spec.kind == "embed":
        engine.embed(audio)
    elif spec.kind == "denoise":
        engine.denoise(audio)
    return spent + time.perf_counter() - started

names = sys.argv[1].split(",")
base = rss()
cold = {name: timed(name) for name in names}
after = rss()
warm = {name: timed(name) for name in names}
reload = {}
unloaded = None
if len(names) == 1:
    registry.unload_idle(0)
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    unloaded = rss()
    reload = {name: timed(name) for name in names}
print(json.dumps({"base": base, "after": after, "unloaded": unloaded,
                  "cold": cold, "warm": warm, "reload": reload}))
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
        for name in [*names, ",".join(names)] if len(names) > 1 else names:
            result = measure(name, clip)
            label = "all of them, one process" if "," in name else name
            rows.append((label, result))
    print(
        f"{'engine':<26} {'base':>6} {'loaded':>7} {'engine':>7} {'peak':>6} {'unloaded':>9} "
        f"{'first use s':>11} {'warm s':>7} {'reload s':>9}"
    )
    for label, result in rows:
        base, after = result["base"]["VmRSS"], result["after"]["VmRSS"]
        unloaded = result["unloaded"]["VmRSS"] if result["unloaded"] else None
        cold, warm = sum(result["cold"].values()), sum(result["warm"].values())
        reload = f"{sum(result['reload'].values()):.2f}" if result["reload"] else ""
        timing = f"{cold:>11.2f} {warm:>7.2f} {reload:>9}"
        print(
            f"{label:<26} {base:>6.0f} {after:>7.0f} {after - base:>7.0f} "
            f"{result['after']['VmHWM']:>6.0f} {'' if unloaded is None else f'{unloaded:.0f}':>9} "
            f"{timing}"
        )
    print("MB of RSS; 'unloaded': after the registry dropped the engine (idle unload)")


if __name__ == "__main__":
    main()
