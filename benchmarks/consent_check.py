"""How well does the spoken-consent check tell the voice's owner saying the phrase from
everything else? False accepts and false rejects on the evaluation speakers.

    .venv/bin/python benchmarks/consent_check.py [--clones 3]

For every clip of every speaker, the phrase is the clip's own transcript and the voice's
reference is another clip of that speaker. Trials:

- genuine: the owner says the phrase (should be accepted: a reject is a false reject);
- other speaker: another speaker's clip, with its own transcript as the phrase, against the
  owner's reference (the right words, the wrong voice);
- wrong phrase: the owner says another of their sentences;
- clone (``--clones N`` speakers): voxclone's own Kokoro clone of the owner, fitted to the
  reference, says the phrase (the check judges words and voice only, so a good clone passes;
  telling synthetic audio apart is the watermark's job).

The check is the service's own: ``consent.word_error_rate`` on Whisper's transcript (the
default STT engine) at most 0.25, and the biometrics embedder's cosine score at least its
equal-error threshold (``biometrics.threshold``).
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from speech.evalset import Clip, load_clips, read
from voxclone.config import Settings
from voxclone.core.errors import VoxcloneError
from voxclone.core.types import Audio
from voxclone.engines.base import SynthesisParams
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.engines.vad import default_vad
from voxclone.services import voiceprints
from voxclone.services.consent import word_error_rate

MAX_WER = 0.25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clones", type=int, default=3, help="speakers cloned (0: none)")
    parser.add_argument("--verbose", action="store_true", help="print every trial's scores")
    args = parser.parse_args()
    settings = Settings(_env_file=None, data_dir=Path(tempfile.mkdtemp()))
    threshold = settings.biometrics.threshold
    registry = EngineRegistry(builtin_specs(settings))
    stt = registry.get_stt(settings.default_stt_backend)
    embedder = registry.get_embedder(settings.biometrics.embedder)
    vad = default_vad()

    # Clips without a transcript in the manifest (some LibriSpeech ones) cannot be a phrase.
    clips = [c for c in load_clips() if c.duration_s <= 20 and c.transcript.strip()]
    by_speaker: dict[str, list[Clip]] = defaultdict(list)
    for c in clips:
        by_speaker[c.speaker].append(c)
    speakers = [s for s, cs in by_speaker.items() if len(cs) >= 2]

    heard: dict[str, str] = {}
    prints: dict[str, object] = {}

    def hear(key: str, audio: Audio) -> str:
        if key not in heard:
            heard[key] = stt.transcribe(audio, "en").text
        return heard[key]

    def voiceprint(key: str, audio: Audio) -> object:
        if key not in prints:
            prints[key] = voiceprints.embed_speech(
                audio, embedder=embedder, vad=vad, min_speech_s=settings.biometrics.min_speech_s
            ).vector
        return prints[key]

    def accepted(key: str, audio: Audio, phrase: str, reference: Clip) -> bool:
        ref = voiceprint(reference.path, read(reference.path))
        score = voiceprints.score(ref, voiceprint(key, audio))  # type: ignore[arg-type]
        wer = word_error_rate(phrase, hear(key, audio))
        if args.verbose:
            print(f"  {key[-32:]:<32} vs {reference.speaker:<28} WER {wer:.2f} score {score:.3f}")
        return wer <= MAX_WER and score >= threshold

    results: dict[str, list[bool]] = defaultdict(list)
    for s in speakers:
        reference = by_speaker[s][0]
        for c in by_speaker[s][1:]:
            audio = read(c.path)
            results["genuine"].append(accepted(c.path, audio, c.transcript, reference))
            other_text = next(o.transcript for o in by_speaker[s] if o.path != c.path)
            if other_text.lower() != c.transcript.lower():
                results["wrong phrase"].append(accepted(c.path, audio, other_text, reference))
        for t in speakers:
            if t != s:
                for d in by_speaker[t][1:3]:
                    results["other speaker"].append(
                        accepted(d.path, read(d.path), d.transcript, reference)
                    )

    if args.clones:
        kokoro = registry.get_tts("local")
        for s in speakers[: args.clones]:
            reference = by_speaker[s][0]
            try:
                prompt = kokoro.create_voice_prompt(read(reference.path), reference.transcript)
            except VoxcloneError as exc:
                print(f"  could not clone {s}: {exc}")
                continue
            for c in by_speaker[s][1:4]:
                chunks = list(kokoro.synthesize(c.transcript.lower(), prompt, SynthesisParams()))
                if not chunks:
                    print(f"  no audio for {c.path}")
                    continue
                audio = Audio(
                    samples=np.concatenate([a.samples for a in chunks]),
                    sample_rate=chunks[0].sample_rate,
                )
                results["clone"].append(accepted(f"clone:{c.path}", audio, c.transcript, reference))

    print(f"speakers {len(speakers)}, threshold {threshold}, max WER {MAX_WER}")
    print(f"{'trial':<16} {'n':>4} {'accepted':>9} {'rate':>7}  meaning")
    meaning = {
        "genuine": "1 - false reject rate",
        "other speaker": "false accept rate",
        "wrong phrase": "false accept rate",
        "clone": "clones that pass (see docstring)",
    }
    for name in ("genuine", "other speaker", "wrong phrase", "clone"):
        got = results.get(name, [])
        if got:
            rate = sum(got) / len(got)
            print(f"{name:<16} {len(got):>4} {sum(got):>9} {rate:>7.1%}  {meaning[name]}")


if __name__ == "__main__":
    main()
