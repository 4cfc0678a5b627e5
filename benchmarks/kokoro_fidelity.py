"""Does the fused Kokoro graph say the same thing in the same voice as the graph without it?

    .venv/bin/python benchmarks/kokoro_fidelity.py [--voices af_heart,am_michael]

Renders the same sentences with each voice through the ``local`` engine without its fused
operators (``stock``), with them (``fused``), and, as the yardstick of "within noise", the stock
graph with the style vector scaled by 1 + 1e-6 (``stock±1e-6``: an input change far below
anything audible). Prints, per variant: the log-spectral distance to the stock rendition
(mean |Δ log10 power|, 1024-point frames; another voice measures above 1), the speaker
similarity to it (Resemblyzer cosine), the word error rate of Whisper tiny.en, and the largest
sample difference. Kokoro's waveform is chaotic (its harmonic source's phase), so sample
differences and SNR say little; the other three are what a listener hears.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from voxclone.audio import resample
from voxclone.core.types import Audio, FloatArray
from voxclone.engines.kokoro import KokoroEngine

SENTENCES = (
    "The old library closes early on Sundays, so plan your visit carefully.",
    "Could you remind me where we parked the car after the concert?",
    "A warm cup of tea and a good book make a perfect rainy afternoon.",
    "Our goal is a first chunk of audio in well under half a second.",
    "She will explain how the voice models were trained and measured.",
)


def spectral_distance(a: FloatArray, b: FloatArray) -> float:
    n = min(a.size, b.size)

    def spectrogram(samples: FloatArray) -> FloatArray:
        frames = np.lib.stride_tricks.sliding_window_view(samples[:n], 1024)[::256]
        power = np.abs(np.fft.rfft(frames * np.hanning(1024), axis=1)) ** 2
        return np.log10(power + 1e-8)

    return float(np.mean(np.abs(spectrogram(a) - spectrogram(b))))


def transcriber() -> Callable[[Audio], str]:
    from voxclone.engines.whisper import WhisperEngine

    whisper = WhisperEngine("whisper", packaged_model="tiny.en", beam_size=5)
    return lambda audio: whisper.transcribe(audio, language="en").text


def words(text: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch in " '" else " " for ch in text.lower())
    return " ".join(kept.replace("'", "").split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default="af_heart,am_michael")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    args = parser.parse_args()
    import jiwer

    from voxclone.engines import speaker

    stock = KokoroEngine("stock", data_dir=args.data_dir, fit=False, fused_ops=False)
    fused = KokoroEngine("fused", data_dir=args.data_dir, fit=False)
    if not fused.fused_ops:
        raise SystemExit("the fused operators are not available here (see the log)")
    packs = stock.stock_voices()
    variants: dict[str, Callable[[str, FloatArray], Audio]] = {
        "stock±1e-6": lambda text, style: stock.render(
            text, style * np.float32(1 + 1e-6), lang="en-us"
        ),
        "fused": lambda text, style: fused.render(text, style, lang="en-us"),
    }
    transcribe = transcriber()
    reference = {
        (voice, text): stock.render(text, packs[voice], lang="en-us")
        for voice in args.voices.split(",")
        for text in SENTENCES
    }
    rows = [("stock", [0.0], [1.0], list(reference.values()), [0.0])]
    for name, render in variants.items():
        distance, similar, clips, peak = [], [], [], []
        for (voice, text), base in reference.items():
            clip = render(text, packs[voice])
            distance.append(spectral_distance(base.samples, clip.samples))
            similar.append(speaker.similarity(speaker.embed(base), speaker.embed(clip)))
            n = min(base.samples.size, clip.samples.size)
            peak.append(float(np.abs(base.samples[:n] - clip.samples[:n]).max()))
            clips.append(clip)
        rows.append((name, distance, similar, clips, peak))
    texts = [words(text) for _voice, text in reference]
    print(f"Kokoro fidelity: {len(reference)} renditions ({args.voices}), against stock")
    print(f"{'variant':<18} {'LSD':>6} {'similarity':>10} {'WER %':>6} {'max |Δ|':>8}")
    for name, distance, similar, clips, peak in rows:
        said = [words(transcribe(resample(clip, 16000))) for clip in clips]
        wer = 100 * float(jiwer.wer(texts, said))
        print(
            f"{name:<18} {np.mean(distance):>6.3f} {np.mean(similar):>10.4f} {wer:>6.1f} "
            f"{max(peak):>8.3f}"
        )


if __name__ == "__main__":
    main()
