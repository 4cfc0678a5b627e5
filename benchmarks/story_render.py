"""How long does a story take to render, and to re-render after one line changed?

    .venv/bin/python benchmarks/story_render.py [--engines piper local] [--fit]

A 12-line, 3-voice script (about 90 s of speech) is imported and rendered as a job through
the real services (in-process queue, SQLite, local blobs), on each engine: first the whole
story, then again after one line's text changed, where only that clip is synthesized again.
Voices are made from three speakers of ../shared/eval/speech. On ``local`` (Kokoro) they are
stock voices chosen by the speaker's pitch, unless ``--fit`` fits them (up to ~45 s each).
Engines are loaded before timing starts; the cache starts empty.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from voxclone.config import Settings
from voxclone.core.types import JobStatus
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import Services, build_services
from voxclone.services.keys import principal_of

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared"))
EVAL_SPEECH = SHARED / "eval" / "speech"
SPEAKERS = {
    "MARA": "librispeech_test-other_1998",
    "TOM": "librispeech_test-other_1688",
    "NARRATOR": "librispeech_test-other_2033",
}
LINES = [
    (
        "NARRATOR",
        "The lighthouse had been dark for eleven years when the letter arrived, folded "
        "twice and sealed with green wax, as if it had come from another century.",
    ),
    (
        "MARA",
        "Tom, come and look at this. It is addressed to the keeper, and the postmark says "
        "it was sent last Tuesday, from a town that has no post office.",
    ),
    (
        "TOM",
        "Nobody has kept that light since the storm. Whoever wrote it must not know the old "
        "man is gone.",
    ),
    (
        "MARA",
        "Or they know exactly, and they wanted someone curious enough to open it. Someone "
        "like us, perhaps.",
    ),
    (
        "NARRATOR",
        "She broke the seal. Inside was a single page, a hand-drawn map, and a brass "
        "key no longer than her thumb, cold as the sea.",
    ),
    (
        "TOM",
        "That map shows the north cliff path. The one the council closed after the "
        "landslide three winters ago.",
    ),
    (
        "MARA",
        "Then we will need good boots, a lantern, and a story for your mother about where "
        "we spent the afternoon.",
    ),
    (
        "NARRATOR",
        "They left at noon. The wind came in hard off the water, and the gulls "
        "wheeled low over the broken fence and the empty keeper's cottage.",
    ),
    (
        "TOM",
        "Mara, stop. There, under the gorse, do you see it? A door set right into the rock, "
        "painted the same grey.",
    ),
    (
        "MARA",
        "The key fits. It turns as if someone oiled the lock this morning. Hold the "
        "lantern closer, would you?",
    ),
    (
        "NARRATOR",
        "Beyond the door a narrow stair wound down into the cliff, and far below them "
        "something began to glow, slow and steady, like a heartbeat.",
    ),
    ("TOM", "Well. I suppose we had better find out who has been keeping the light after all."),
]
CHANGED = "The key fits. It turns as though the lock was oiled today. Bring the lantern nearer."


@dataclass
class Result:
    engine: str
    voices: str
    audio_s: float
    first_s: float
    again_s: float
    again_clips: int


def reference(speaker: str) -> tuple[bytes, str]:
    with (EVAL_SPEECH / "manifest.csv").open() as f:
        for row in csv.DictReader(f):
            if row["speaker"] == speaker and 5 <= float(row["duration_s"]) <= 15:
                return (EVAL_SPEECH / row["path"]).read_bytes(), row["transcript"]
    raise SystemExit(f"no 5-15 s clip of {speaker} in {EVAL_SPEECH / 'manifest.csv'}")


def registry(fit: bool) -> EngineRegistry:
    kokoro = {"data_dir": REPO / "data", "fit": fit}
    return EngineRegistry(
        [
            EngineSpec("piper", "voxclone.engines.piper:PiperEngine"),
            EngineSpec("local", "voxclone.engines.kokoro:KokoroEngine", options=kokoro),
        ]
    )


async def wait(services: Services, key_id: str, job_id: str) -> float:
    started = time.perf_counter()
    while True:
        job = await services.jobs.get(key_id=key_id, job_id=job_id)
        if JobStatus(job.status).terminal:
            if job.status != JobStatus.READY:
                raise SystemExit(f"render {job_id} ended {job.status}: {job.error}")
            return time.perf_counter() - started
        await asyncio.sleep(0.05)


async def bench(engine: str, *, fit: bool, data_dir: Path) -> Result:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=data_dir,
        admin_key="vxadmin_bench-admin-key",
        default_backend=engine,
        auto_transcribe_references=False,
    )
    services = build_services(settings, engines=registry(fit))
    await services.start()
    try:
        services.engines.get_tts(engine)  # loaded before timing
        issued = await services.keys.create(label="bench")
        key_id = issued.record.id
        caller = principal_of(issued.record)
        voices = {}
        for name, speaker in SPEAKERS.items():
            audio, transcript = reference(speaker)
            voice = await services.voices.create(
                key_id=key_id, name=name, ref_audio=audio, ref_text=transcript, backend=engine
            )
            while voice.status == "fitting":
                await asyncio.sleep(0.5)
                voice = await services.voices.get(key_id=key_id, voice_id=voice.id)
            voices[name] = voice.id
        story = await services.stories.create(
            key_id=key_id, name="lighthouse", description=None, settings={}
        )
        script = "\n".join(f"{who}: {line}" for who, line in LINES)
        view = await services.stories.import_script(
            key_id=key_id, story_id=story.story.id, script=script, voices=voices
        )
        started = time.perf_counter()
        job = await services.story_renderer.request(
            caller=caller, key_id=key_id, story_id=view.story.id, asked={}
        )
        await wait(services, key_id, job.id)
        first_s = time.perf_counter() - started
        audio_s = (await services.jobs.get(key_id=key_id, job_id=job.id)).audio_duration_s or 0
        changed = view.clips[9]
        await services.stories.update_clip(
            key_id=key_id, story_id=view.story.id, clip_id=changed.id, changes={"text": CHANGED}
        )
        before = await usage_count(services, key_id)
        started = time.perf_counter()
        job = await services.story_renderer.request(
            caller=caller, key_id=key_id, story_id=view.story.id, asked={}
        )
        await wait(services, key_id, job.id)
        again_s = time.perf_counter() - started
        made = await usage_count(services, key_id) - before
    finally:
        await services.close()
    kind = "fitted" if fit and engine == "local" else ("stock" if engine == "local" else "piper")
    return Result(engine, kind, audio_s, first_s, again_s, made)


async def usage_count(services: Services, key_id: str) -> int:
    from sqlalchemy import func, select

    from voxclone.db.tables import UsageEvent

    await services.usage.flush()
    async with services.sessions() as session:
        query = select(func.count()).where(UsageEvent.key_id == key_id, UsageEvent.entry == "story")
        return int((await session.execute(query)).scalar_one())


def table(results: list[Result]) -> str:
    lines = [
        f"Story render: 12 clips, 3 voices, one job each; {os.cpu_count()} CPU cores visible",
        f"{'engine':<7} {'voices':<7} {'audio s':>8} {'first render s':>15} {'RTF':>6} "
        f"{'re-render (1 clip changed) s':>29} {'clips made again':>16}",
    ]
    lines.append("-" * len(lines[1]))
    for r in results:
        lines.append(
            f"{r.engine:<7} {r.voices:<7} {r.audio_s:>8.1f} {r.first_s:>15.2f} "
            f"{r.first_s / r.audio_s:>6.3f} {r.again_s:>29.2f} {r.again_clips:>16}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", default=["piper", "local"])
    parser.add_argument("--fit", action="store_true", help="fit Kokoro voices (slow)")
    args = parser.parse_args()
    results = []
    for engine in args.engines:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(asyncio.run(bench(engine, fit=args.fit, data_dir=Path(tmp))))
    print(table(results))


if __name__ == "__main__":
    main()
