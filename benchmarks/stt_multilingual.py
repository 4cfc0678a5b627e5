"""Word error rate of the built-in Whisper models per language, on real recorded speech.

    apt-get install asterisk-core-sounds-{en,es,fr,it,ru}-wav asterisk-core-sounds-{en,es,fr,it,ru}
    .venv/bin/python benchmarks/stt_multilingual.py [--clips 25] [--models base,tiny.en]

The speech: Asterisk's core prompts, professional human recordings with their scripts, packaged
by Debian (``/usr/share/asterisk/sounds/<voice>/*.wav``, 8 kHz telephone audio; scripts in
``/usr/share/doc/asterisk-core-sounds-<lang>/core-sounds-<lang>.txt.gz``). Voices: en-US Allison
Smith, es-MX Allison Smith, fr-CA June Wallack, it-IT Carlo, ru-RU IvrvoiceRU; licence
CC-BY-SA-3.0 (Russian CC-BY-3.0). Per language, ``--clips`` prompts of 5 to 25 words are used,
spread evenly over the prompts in name order (the same ones every run). The evaluation set
(``../shared/eval/speech``) is English only, so it cannot measure other languages.

For each model and language: WER with the language given, WER and language-ID accuracy with the
language left to the model (``language=None``), and the real-time factor. Text is compared
lower-cased, without punctuation or accents (the scripts omit accents: ``contrasena``). Numbers
the script spells out and Whisper writes as digits count as errors.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import jiwer
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from voxclone.core.errors import UnsupportedLanguage
from voxclone.core.types import Audio
from voxclone.engines.whisper import WhisperEngine

SOUNDS = Path("/usr/share/asterisk/sounds")
DOCS = Path("/usr/share/doc")
VOICES = {
    "en": "en_US_f_Allison",
    "es": "es_MX_f_Allison",
    "fr": "fr_CA_f_June",
    "it": "it_IT_m_Carlo",
    "ru": "ru_RU_f_IvrvoiceRU",
}
MIN_WORDS, MAX_WORDS = 5, 25
"""Prompts of one or two sentences: the long menus (a minute of speech) are left out."""


@dataclass(frozen=True)
class Clip:
    path: Path
    text: str


def normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    kept = re.sub(r"[^\w\s]", " ", plain.replace("'", " ").replace("’", " "))
    return " ".join(kept.split())


def scripts(lang: str) -> dict[str, str]:
    """Prompt name -> its words, from the package's script (``name: text`` lines)."""
    path = DOCS / f"asterisk-core-sounds-{lang}" / f"core-sounds-{lang}.txt.gz"
    found: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8-sig") as f:
        for line in f:
            name, sep, text = line.partition(":")
            if not sep or line.startswith(";") or "[" in text:
                continue
            found[name.strip()] = text.strip()
    return found


def clips(lang: str, count: int) -> list[Clip]:
    folder = SOUNDS / VOICES[lang]
    chosen = [
        Clip(folder / f"{name}.wav", text)
        for name, text in scripts(lang).items()
        if "/" not in name
        and (folder / f"{name}.wav").is_file()
        and MIN_WORDS <= len(normalize(text).split()) <= MAX_WORDS
    ]
    chosen.sort(key=lambda c: c.path.name)
    step = max(1, len(chosen) // count)
    return chosen[::step][:count]


def measure(engine: WhisperEngine, lang: str, chosen: list[Clip]) -> dict[str, object]:
    refs, given, detected, right, audio_s, busy_s = [], [], [], 0, 0.0, 0.0
    for clip in chosen:
        samples, rate = sf.read(clip.path, dtype="float32")
        audio = Audio(samples, rate)
        audio_s += audio.duration_s
        refs.append(normalize(clip.text))
        started = time.perf_counter()
        given.append(normalize(engine.transcribe(audio, lang).text))
        busy_s += time.perf_counter() - started
        if engine.multilingual:
            heard = engine.transcribe(audio, None)
            detected.append(normalize(heard.text))
            right += heard.language == lang
    row: dict[str, object] = {
        "clips": len(chosen),
        "audio_s": audio_s,
        "wer": jiwer.wer(refs, given),
        "rtf": busy_s / audio_s,
    }
    if detected:
        row["wer_auto"] = jiwer.wer(refs, detected)
        row["lid"] = right / len(chosen)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20, help="prompts per language")
    parser.add_argument("--models", default="base,tiny.en", help="packaged models to compare")
    parser.add_argument("--languages", default=",".join(VOICES))
    parser.add_argument("--beam-size", type=int, default=5)
    args = parser.parse_args()
    if not SOUNDS.is_dir():
        parser.error(f"no {SOUNDS}: install the Debian packages named in this script's docstring")
    data_dir = Path(tempfile.gettempdir()) / "voxclone-bench"
    head = f"{'model':<8} {'lang':<5} {'clips':>5} {'audio s':>8} {'WER':>7} "
    head += f"{'WER auto':>9} {'lang ID':>8} {'RTF':>6}"
    lines = [head, "-" * len(head)]
    for model in args.models.split(","):
        engine = WhisperEngine(
            "whisper", packaged_model=model, data_dir=data_dir, beam_size=args.beam_size
        )
        for lang in args.languages.split(","):
            print(f"{model} {lang} ...", file=sys.stderr, flush=True)
            try:
                row = measure(engine, lang, clips(lang, args.clips))
            except UnsupportedLanguage:
                lines.append(f"{model:<8} {lang:<5} {'(English-only model: refused)':>40}")
                continue
            auto = f"{row['wer_auto']:>9.3f}" if "wer_auto" in row else f"{'-':>9}"
            lid = f"{row['lid']:>8.0%}" if "lid" in row else f"{'-':>8}"
            lines.append(
                f"{model:<8} {lang:<5} {row['clips']:>5} {row['audio_s']:>8.1f} "
                f"{row['wer']:>7.3f} {auto} {lid} {row['rtf']:>6.3f}"
            )
        engine.close()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
