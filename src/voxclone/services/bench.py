"""How fast does a TTS engine speak on this machine? Real-time factor and time to first audio.

Shared by ``voxclone bench`` (the engines a deployment has configured, local or remote) and
``benchmarks/engine_speed.py`` (engine variants side by side). An engine is warmed up with one
synthesis, then timed on a 1-sentence and a 10-sentence English text. RTF is synthesis time /
audio duration (below 1 is faster than real time); "first audio" is the time until the first
chunk arrives. Both are medians over the runs, with the process CPU time per second of audio
beside them: on a shared machine wall-clock figures swing with other people's load, CPU time
much less (for a remote engine it is only the gateway's share).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from voxclone.core.types import Audio
from voxclone.engines.base import SynthesisParams, TTSEngine, VoicePrompt

ONE_SENTENCE = "The quick brown fox jumps over the lazy dog near the quiet river bank."
TEN_SENTENCES = " ".join(
    [
        "Welcome to the weekly update from the engineering team.",
        "This week we finished the new storage layer and moved every service onto it.",
        "The migration took two nights, and nobody noticed any downtime.",
        "Next, we will look at speech synthesis speed on small machines.",
        "Our goal is a first chunk of audio in well under half a second.",
        "Dr. Smith from the research group will join us on Thursday.",
        "She will explain how the voice models were trained and measured.",
        "Please send your questions before Wednesday evening.",
        "If you cannot attend, the recording will be shared afterwards.",
        "Thank you all, and have a good week!",
    ]
)
TEXTS = {"1 sentence": ONE_SENTENCE, "10 sentences": TEN_SENTENCES}

Step = Callable[[str], None]
"""Called before each timed step with what it is about to do (for a progress bar)."""


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_s: float
    first_chunk_s: float
    audio_s: float
    chunks: int


@dataclass(frozen=True)
class Row:
    engine: str
    text: str
    chars: int
    chunks: int
    audio_s: float
    rtf: float
    cpu_per_s: float
    first_chunk_s: float
    load_s: float
    prompt_s: float | None
    """Voice prompt creation (for local: fitting Kokoro); None when no reference was given."""


def synthesize_timed(
    engine: TTSEngine, text: str, prompt: VoicePrompt, params: SynthesisParams
) -> Run:
    """One synthesis of ``text``, consumed chunk by chunk, with its timings."""
    start = time.perf_counter()
    cpu_start = time.process_time()
    first: float | None = None
    audio_s = 0.0
    chunks = 0
    for chunk in engine.synthesize(text, prompt, params):
        if first is None:
            first = time.perf_counter() - start
        audio_s += chunk.duration_s
        chunks += 1
    seconds = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    if first is None or audio_s == 0:
        raise RuntimeError(f"engine {engine.name!r} produced no audio for {text[:40]!r}")
    return Run(seconds, cpu_s, first, audio_s, chunks)


def measure_engine(
    load: Callable[[], TTSEngine],
    *,
    runs: int,
    reference: Audio | None = None,
    params: SynthesisParams | None = None,
    texts: dict[str, str] | None = None,
    step: Step | None = None,
) -> list[Row]:
    """One row per text for the engine ``load`` returns (its loading time is measured too).

    With ``reference``, the engine first makes a voice prompt from it (timed) and speaks with
    that voice; without, it speaks with its default voice.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    say = step or (lambda _what: None)
    params = params or SynthesisParams()
    texts = texts or TEXTS
    say("loading")
    started = time.perf_counter()
    engine = load()
    load_s = time.perf_counter() - started
    prompt: VoicePrompt = {}
    prompt_s: float | None = None
    if reference is not None:
        say("making the voice")
        clock = time.perf_counter()
        prompt = engine.create_voice_prompt(reference, None)
        prompt_s = time.perf_counter() - clock
    say("warming up")
    synthesize_timed(engine, ONE_SENTENCE, prompt, params)
    rows = []
    for label, text in texts.items():
        timed = []
        for i in range(runs):
            say(f"{label}, run {i + 1} of {runs}")
            timed.append(synthesize_timed(engine, text, prompt, params))
        rows.append(
            Row(
                engine=engine.name,
                text=label,
                chars=len(text),
                chunks=timed[0].chunks,
                audio_s=statistics.median(r.audio_s for r in timed),
                rtf=statistics.median(r.seconds / r.audio_s for r in timed),
                cpu_per_s=statistics.median(r.cpu_s / r.audio_s for r in timed),
                first_chunk_s=statistics.median(r.first_chunk_s for r in timed),
                load_s=load_s,
                prompt_s=prompt_s,
            )
        )
    return rows


def format_table(rows: list[Row], runs: int) -> str:
    """The rows as a plain-text table with a one-line title."""
    width = max([8, *(len(r.engine) for r in rows)])
    header = (
        f"{'engine':<{width}} {'text':<13} {'chars':>5} {'chunks':>6} {'audio s':>8} "
        f"{'RTF':>7} {'CPU/s':>7} {'first audio s':>13} {'load s':>7} {'voice s':>8}"
    )
    lines = [
        f"TTS engine speed: medians over {runs} warm runs, {os.cpu_count()} CPU cores visible",
        header,
        "-" * len(header),
    ]
    for r in rows:
        voice = f"{r.prompt_s:>8.2f}" if r.prompt_s is not None else f"{'-':>8}"
        lines.append(
            f"{r.engine:<{width}} {r.text:<13} {r.chars:>5} {r.chunks:>6} {r.audio_s:>8.2f} "
            f"{r.rtf:>7.3f} {r.cpu_per_s:>7.3f} {r.first_chunk_s:>13.3f} {r.load_s:>7.2f} {voice}"
        )
    return "\n".join(lines)
