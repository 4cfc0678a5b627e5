"""Whisper speech to text on faster-whisper (CTranslate2): by default the multilingual Whisper
base when its packages are installed, else Whisper tiny.en (see ``whisper_assets``).

Nothing is ever downloaded. Any CTranslate2 Whisper folder can replace the packaged models
(``model_path``). ``faster-whisper`` is imported only when a ``WhisperEngine`` is built.
Multilingual models also translate speech into English (``TranscribeOptions.task``).

English-only models (``*.en``) refuse any other language with UnsupportedLanguage rather than
transcribing it as English. Non-speech is skipped with faster-whisper's built-in Silero VAD
(``vad_filter``), so silence gives an empty transcript instead of invented words.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np

from voxclone.audio import resample
from voxclone.core.errors import EngineError, EngineUnavailable, UnsupportedLanguage
from voxclone.core.types import Audio
from voxclone.engines.base import Segment, TranscribeOptions, Transcript, Word
from voxclone.engines.whisper_assets import TINY_EN_HINT, packaged_model_dir

INSTALL_HINT = TINY_EN_HINT
TASKS = ("transcribe", "translate")
SAMPLE_RATE = 16000
"""Whisper hears 16 kHz audio; other rates are resampled first."""
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")


class WhisperEngine:
    """faster-whisper behind the ``STTEngine`` protocol; one model shared by all threads.

    CTranslate2 runs concurrent ``transcribe`` calls safely (queued on its workers), so the
    engine needs no lock of its own.
    """

    def __init__(
        self,
        name: str,
        model_path: str | Path | None = None,
        threads: int = 2,
        compute_type: str = "int8",
        beam_size: int = 5,
        vad_filter: bool = True,
        packaged_model: str = "auto",
        data_dir: str | Path | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if beam_size < 1:
            raise ValueError(f"beam_size must be at least 1, got {beam_size}")
        if model_path is not None:
            folder, model_name = Path(model_path), Path(model_path).name
        else:
            data = Path(data_dir) if data_dir is not None else None
            folder, model_name = packaged_model_dir(packaged_model, data)
        missing = [f for f in MODEL_FILES if not (folder / f).is_file()]
        if missing:
            raise EngineUnavailable(
                f"{str(folder)!r} is not a CTranslate2 Whisper model folder (missing "
                f"{', '.join(missing)}); set VOXCLONE_WHISPER__MODEL_PATH or {INSTALL_HINT}",
                backend=name,
                model_path=str(folder),
            )
        self.name = name
        self.beam_size = beam_size
        self.vad_filter = vad_filter
        self.model_dir = folder
        self.model_name = model_name
        self._model: Any = _load_model(folder, threads=threads, compute_type=compute_type)
        self.multilingual: bool = bool(self._model.model.is_multilingual)
        self.languages: tuple[str, ...] = tuple(self._model.supported_languages)
        self.can_translate: bool = self.multilingual
        """Whisper translates into English with multilingual models only."""
        package = importlib.metadata.version("faster-whisper")
        size = (folder / "model.bin").stat().st_size
        self.version = f"faster-whisper-{package}:{self.model_name}:{size}:{compute_type}"

    def transcribe(
        self,
        audio: Audio,
        language: str | None = None,
        options: TranscribeOptions | None = None,
    ) -> Transcript:
        options = options or TranscribeOptions()
        if options.task not in TASKS or (options.task == "translate" and not self.can_translate):
            raise UnsupportedLanguage(
                f"the speech-to-text model {self.model_name!r} of engine {self.name!r} cannot "
                f"{options.task}: translation needs a multilingual Whisper model",
                backend=self.name,
                task=options.task,
            )
        language = self._check_language(language)
        samples = resample(audio, SAMPLE_RATE).samples
        duration = len(samples) / SAMPLE_RATE
        try:
            pieces, info = self._model.transcribe(
                np.ascontiguousarray(samples, dtype=np.float32),
                language=language,
                task=options.task,
                beam_size=options.beam_size or self.beam_size,
                temperature=_temperatures(options.temperature),
                initial_prompt=options.prompt or None,
                word_timestamps=options.word_timestamps,
                vad_filter=self.vad_filter,
            )
            segments = []
            for piece in pieces:  # a generator: decoding happens as it is consumed
                segments.append(_segment(piece, duration))
                if options.on_segment is not None:
                    options.on_segment(segments[-1])
                if options.progress is not None and duration > 0:
                    options.progress(min(piece.end / duration, 1.0))
        except (RuntimeError, ValueError) as exc:
            raise EngineError(
                f"engine {self.name!r} could not transcribe {duration:.1f} s of audio: {exc}",
                backend=self.name,
            ) from exc
        if options.progress is not None:
            options.progress(1.0)
        return Transcript(
            text=" ".join(s.text for s in segments if s.text),
            segments=tuple(segments),
            language=info.language,
            duration_s=round(duration, 3),
        )

    def close(self) -> None:
        self._model = None

    def _check_language(self, language: str | None) -> str | None:
        """The model's code for ``language`` (``en-US`` → ``en``), or UnsupportedLanguage."""
        if language is None or not language.strip():
            return None if self.multilingual else "en"
        code = language.strip().lower().replace("_", "-").split("-")[0]
        if code in self.languages:
            return code
        if not self.multilingual:
            raise UnsupportedLanguage(
                f"the speech-to-text model {self.model_name!r} of engine {self.name!r} is "
                f"English-only and cannot transcribe language {language!r}; set "
                "VOXCLONE_WHISPER__MODEL_PATH to a multilingual Whisper model for other languages",
                language=language,
                backend=self.name,
                supported=list(self.languages),
            )
        raise UnsupportedLanguage(
            f"engine {self.name!r} does not know language {language!r}; use an ISO-639-1 code "
            "such as en, de or fr",
            language=language,
            backend=self.name,
            supported=list(self.languages),
        )


def _load_model(folder: Path, *, threads: int, compute_type: str) -> Any:
    try:
        from faster_whisper import WhisperModel  # type: ignore[import-untyped]
    except ImportError as exc:
        raise EngineUnavailable(
            f"faster-whisper is not installed: {INSTALL_HINT}", backend="whisper"
        ) from exc
    try:
        return WhisperModel(
            str(folder),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=1,
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise EngineUnavailable(
            f"cannot load the Whisper model in {str(folder)!r}: {exc}", backend="whisper"
        ) from exc


def _temperatures(temperature: float | None) -> float | tuple[float, ...]:
    """OpenAI's meaning: 0 (or none) starts greedy and raises the temperature when decoding
    fails its checks; another value samples at that temperature only."""
    if temperature is None or temperature <= 0.0:
        return (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    return float(temperature)


def _segment(piece: Any, duration: float) -> Segment:
    """A faster-whisper segment; times are clamped to the audio (Whisper's last timestamp can
    overshoot the end by a few tenths of a second)."""

    def at(seconds: float) -> float:
        return round(min(max(float(seconds), 0.0), duration), 3)

    words = tuple(
        Word(
            start_s=at(w.start),
            end_s=at(w.end),
            word=str(w.word),
            probability=float(w.probability),
        )
        for w in (piece.words or ())
    )
    return Segment(
        start_s=at(piece.start),
        end_s=at(piece.end),
        text=str(piece.text).strip(),
        words=words,
        seek=int(piece.seek),
        tokens=tuple(int(t) for t in piece.tokens),
        temperature=None if piece.temperature is None else float(piece.temperature),
        avg_logprob=float(piece.avg_logprob),
        compression_ratio=float(piece.compression_ratio),
        no_speech_prob=float(piece.no_speech_prob),
    )
