"""Factories for test audio: sine waves, and files written by soundfile itself."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from voxclone.core.types import Audio

SineFactory = Callable[..., Audio]
FileFactory = Callable[..., bytes]


def _sine_samples(
    seconds: float, rate: int, *, freq: float = 440.0, amplitude: float = 0.5
) -> npt.NDArray[np.float32]:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _dominant_frequency(audio: Audio) -> float:
    spectrum = np.abs(np.fft.rfft(audio.samples * np.hanning(audio.samples.size)))
    return float(np.argmax(spectrum) * audio.sample_rate / audio.samples.size)


@pytest.fixture
def dominant_frequency() -> Callable[[Audio], float]:
    """``dominant_frequency(audio) -> Hz``: where the spectrum peaks."""
    return _dominant_frequency


@pytest.fixture
def make_sine() -> SineFactory:
    """``make_sine(seconds=1.0, rate=16000, freq=440.0, amplitude=0.5) -> Audio``."""

    def make(
        seconds: float = 1.0, rate: int = 16000, freq: float = 440.0, amplitude: float = 0.5
    ) -> Audio:
        return Audio(_sine_samples(seconds, rate, freq=freq, amplitude=amplitude), rate)

    return make


@pytest.fixture
def make_file() -> FileFactory:
    """``make_file(samples, rate, format="WAV", subtype=None) -> bytes``, written by soundfile.

    ``samples`` is 1-D (mono) or frames x channels.
    """

    def make(
        samples: npt.NDArray[np.float32],
        rate: int,
        format: str = "WAV",
        subtype: str | None = None,
    ) -> bytes:
        buffer = io.BytesIO()
        sf.write(buffer, samples, rate, format=format, subtype=subtype)
        return buffer.getvalue()

    return make
