"""A test double of a speech-to-text engine: it describes the audio instead of hearing it.

``FakeTranscriber`` is for tests of the plumbing around STT engines (the provider server's
``/v1/transcribe``, remote STT clients). Its transcript is ``text`` (or, by default, how long the
audio is), cut into one segment per started second so tests can check times. ``fail_on_silence``
makes silent audio an error, to test how failures travel.
"""

from __future__ import annotations

import math

import numpy as np

from voxclone.core.errors import EngineError
from voxclone.core.types import Audio
from voxclone.engines.base import Segment, TranscribeOptions, Transcript


class FakeTranscriber:
    def __init__(
        self,
        name: str,
        text: str | None = None,
        language: str = "en",
        fail_on_silence: bool = True,
    ) -> None:
        self.name = name
        self.version = "fake-stt-1"
        self.text = text
        self.language = language
        self.fail_on_silence = fail_on_silence
        self.calls = 0

    def transcribe(
        self,
        audio: Audio,
        language: str | None = None,
        options: TranscribeOptions | None = None,
    ) -> Transcript:
        self.calls += 1
        if self.fail_on_silence and not np.any(audio.samples):
            raise EngineError(f"engine {self.name!r} heard only silence", backend=self.name)
        duration = audio.duration_s
        text = self.text or f"{duration:.1f} seconds of audio"
        words = text.split()
        count = max(1, math.ceil(duration))
        per = max(1, math.ceil(len(words) / count))
        segments = []
        for i in range(count):
            chunk = " ".join(words[i * per : (i + 1) * per])
            if chunk:
                segments.append(
                    Segment(start_s=float(i), end_s=min(float(i + 1), duration), text=chunk)
                )
        return Transcript(
            text=text,
            segments=tuple(segments),
            language=language or self.language,
            duration_s=round(duration, 3),
        )

    def close(self) -> None:
        pass
