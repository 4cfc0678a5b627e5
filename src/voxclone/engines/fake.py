"""A test double of a text-to-speech engine: tones instead of speech.

``FakeEngine`` is for tests of the plumbing around engines (services, jobs, streaming, caching,
the API). It needs no model, is fast and fully deterministic, and is never meant to be served to
users. Each sentence becomes a sine tone whose pitch comes from the voice prompt and whose
length grows with the sentence, so a test can tell voices and sentences apart by ear or by
arithmetic. Knobs make it slow (``delay_s``) or fail (``fail_marker``) on demand.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from voxclone.core.errors import EngineError, InvalidAudio, UnsupportedLanguage
from voxclone.core.types import Audio
from voxclone.engines.base import (
    ProgressCallback,
    SynthesisParams,
    TTSCapabilities,
    VoicePrompt,
)
from voxclone.engines.text import normalize_text, split_sentences

DEFAULT_PITCH_HZ = 220.0
SECONDS_PER_CHAR = 0.05
MIN_SENTENCE_S = 0.1
_MIN_PITCH_HZ = 60.0
_MAX_PITCH_HZ = 500.0
_AMPLITUDE = 0.3
_FADE_S = 0.005


class FakeEngine:
    """A deterministic tone generator behind the ``TTSEngine`` protocol; a test double.

    - ``create_voice_prompt`` measures the reference clip: its pitch estimate (from the rate of
      zero crossings, so a pure tone of f Hz gives f) becomes ``pitch_hz``. Progress is
      reported at 0, 0.5 and 1.
    - ``synthesize`` yields one tone per sentence of ``split_sentences``:
      ``max(0.1, 0.05 * characters) / speed`` seconds long, at the prompt's pitch (at
      220 Hz when ``cloning`` is False), after sleeping ``delay_s``.
    - A sentence containing ``fail_marker`` raises ``EngineError`` when its turn comes, so
      earlier sentences have already been yielded; ``None`` turns failing off.
    - With ``fitting`` set, capabilities say prompts are slow (voices are fitted in a job) and
      ``create_voice_prompt`` takes ``fit_delay_s``, reporting progress as it goes; a
      transcript containing ``fail_marker`` makes it raise ``EngineError``.
    - ``close`` marks the engine closed; ``closed`` tells tests that it happened.
    - ``chunks_made`` counts the chunks synthesized, so a test can tell when stepping stopped.
    """

    def __init__(
        self,
        name: str,
        sample_rate: int = 16000,
        languages: Sequence[str] = ("en",),
        delay_s: float = 0.0,
        fail_marker: str | None = "FAIL",
        cloning: bool = True,
        fitting: bool = False,
        fit_delay_s: float = 0.0,
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if delay_s < 0:
            raise ValueError(f"delay_s must not be negative, got {delay_s}")
        self.name = name
        self.version = f"fake-1:{sample_rate}"
        self.sample_rate = sample_rate
        self.languages = frozenset(languages)
        self.delay_s = delay_s
        self.fail_marker = fail_marker
        self.cloning = cloning
        self.fitting = fitting
        self.fit_delay_s = fit_delay_s
        self.closed = False
        self.synthesis_calls = 0
        self.chunks_made = 0
        self._lock = threading.Lock()

    def capabilities(self) -> TTSCapabilities:
        return TTSCapabilities(
            languages=self.languages,
            sample_rate=self.sample_rate,
            streaming=True,
            cloning=self.cloning,
            fitting=self.fitting,
        )

    def create_voice_prompt(
        self,
        reference: Audio,
        transcript: str | None,
        *,
        progress: ProgressCallback | None = None,
    ) -> VoicePrompt:
        if progress is not None:
            progress(0.0)
        if self.fail_marker and transcript and self.fail_marker in transcript:
            raise EngineError(f"{self.name}: fitting failed on request ({self.fail_marker!r})")
        samples = reference.samples
        if samples.size == 0 or not np.any(samples):
            raise InvalidAudio("reference audio is empty or silent")
        rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
        for step in range(1, 5):  # a slow "fit", when asked for one
            time.sleep(self.fit_delay_s / 4)
            if progress is not None:
                progress(0.5 * step / 4)
        crossings = int(np.count_nonzero(np.signbit(samples[1:]) != np.signbit(samples[:-1])))
        pitch = crossings / (2.0 * reference.duration_s)
        pitch = min(max(pitch, _MIN_PITCH_HZ), _MAX_PITCH_HZ)
        if progress is not None:
            progress(1.0)
        return {
            "engine": "fake",
            "pitch_hz": round(pitch, 2),
            "rms": round(rms, 4),
            "transcript": transcript,
        }

    def synthesize(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[Audio]:
        if params.language not in self.languages:
            supported = ", ".join(sorted(self.languages))
            raise UnsupportedLanguage(
                f"engine {self.name!r} does not speak {params.language!r}; "
                f"supported languages: {supported}",
                language=params.language,
                supported=sorted(self.languages),
            )
        if params.speed <= 0:
            raise ValueError(f"speed must be positive, got {params.speed}")
        pitch = (
            float(prompt.get("pitch_hz", DEFAULT_PITCH_HZ)) if self.cloning else DEFAULT_PITCH_HZ
        )
        with self._lock:
            self.synthesis_calls += 1
        return self._tones(split_sentences(normalize_text(text)), pitch, params.speed)

    def close(self) -> None:
        self.closed = True

    def _tones(self, sentences: list[str], pitch: float, speed: float) -> Iterator[Audio]:
        for sentence in sentences:
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.fail_marker is not None and self.fail_marker in sentence:
                raise EngineError(
                    f"engine {self.name!r} failed on purpose: the text contains "
                    f"{self.fail_marker!r}",
                    backend=self.name,
                )
            duration = max(MIN_SENTENCE_S, SECONDS_PER_CHAR * len(sentence)) / speed
            with self._lock:
                self.chunks_made += 1
            yield self._tone(pitch, duration)

    def _tone(self, pitch: float, duration_s: float) -> Audio:
        n = max(1, round(duration_s * self.sample_rate))
        t = np.arange(n, dtype=np.float64) / self.sample_rate
        wave = _AMPLITUDE * np.sin(2 * np.pi * pitch * t)
        fade = min(n // 2, round(_FADE_S * self.sample_rate))
        if fade:
            ramp = np.linspace(0.0, 1.0, fade)
            wave[:fade] *= ramp
            wave[-fade:] *= ramp[::-1]
        return Audio(wave.astype(np.float32), self.sample_rate)


class QuickFakeEngine(FakeEngine):
    """A ``FakeEngine`` whose prompts are slow fits (``fit_delay_s``) with a quick prompt too
    (``QuickPromptEngine``): the stock tone of ``DEFAULT_PITCH_HZ``, after checking the clip as
    a fit would. ``fits`` counts the fits begun, ``quick_prompts`` the quick ones."""

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(name, **options)
        self.fits = 0
        self.quick_prompts = 0

    def create_voice_prompt(
        self,
        reference: Audio,
        transcript: str | None,
        *,
        progress: ProgressCallback | None = None,
    ) -> VoicePrompt:
        with self._lock:
            self.fits += 1
        return super().create_voice_prompt(reference, transcript, progress=progress)

    def quick_voice_prompt(self, reference: Audio) -> VoicePrompt:
        if reference.samples.size == 0 or not np.any(reference.samples):
            raise InvalidAudio("reference audio is empty or silent")
        with self._lock:
            self.quick_prompts += 1
        return {"engine": "fake", "pitch_hz": DEFAULT_PITCH_HZ, "quick": True}
