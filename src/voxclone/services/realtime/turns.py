"""Server turn detection: Silero VAD over the input as it arrives, turned into the moments
OpenAI's ``server_vad`` reports: speech started, and speech stopped after enough silence.

A third moment, ``SpeechPaused``, is for the session alone: the speaker has been silent for a
short while, which is when transcribing what was said so far is worth starting (if they go
on, the guess is thrown away; if not, the words are ready when the turn ends)."""

from __future__ import annotations

from dataclasses import dataclass

from voxclone.core.types import FloatArray
from voxclone.engines.vad import WINDOW_S, VadStream
from voxclone.services.realtime.config import TurnDetection

HYSTERESIS = 0.15
"""Speech ends below ``threshold - HYSTERESIS`` (silero's own helper uses the same gap)."""
PAUSE_MS = 96
"""Silence after which a turn's words are transcribed ahead of its end."""


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    start_ms: int


@dataclass(frozen=True, slots=True)
class SpeechPaused:
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    start_ms: int
    end_ms: int


TurnEvent = SpeechStarted | SpeechPaused | SpeechStopped


class TurnDetector:
    """Feed it the input audio (any pieces); it answers with the turn events the audio held.
    Times are milliseconds from the first sample fed."""

    def __init__(self, vad: VadStream, options: TurnDetection) -> None:
        self._vad = vad
        self.options = options
        self._windows = 0
        self._start_ms: int | None = None
        self._silent_since_ms: int | None = None
        self._paused = False

    @property
    def speaking(self) -> bool:
        return self._start_ms is not None

    def feed(self, samples: FloatArray) -> list[TurnEvent]:
        events: list[TurnEvent] = []
        options = self.options
        leave = max(0.01, options.threshold - HYSTERESIS)
        for prob in self._vad.feed(samples):
            now_ms = round(self._windows * WINDOW_S * 1000)
            self._windows += 1
            end_ms = round(self._windows * WINDOW_S * 1000)
            if prob >= options.threshold:
                self._silent_since_ms, self._paused = None, False
                if self._start_ms is None:
                    self._start_ms = now_ms
                    events.append(SpeechStarted(now_ms))
                continue
            if self._start_ms is None or prob >= leave:
                continue
            if self._silent_since_ms is None:
                self._silent_since_ms = now_ms
            silent_ms = end_ms - self._silent_since_ms
            if silent_ms >= options.silence_duration_ms:
                events.append(SpeechStopped(self._start_ms, self._silent_since_ms))
                self._start_ms, self._silent_since_ms, self._paused = None, None, False
            elif silent_ms >= PAUSE_MS and not self._paused:
                self._paused = True
                events.append(SpeechPaused(self._start_ms, self._silent_since_ms))
        return events
