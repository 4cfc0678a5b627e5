"""Render: run the engine on a plan's text with the voice's prompt, mark it (the watermark,
``mark.py``, when on) and encode the audio."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

from voxclone.audio import concat_with_crossfade, encode_audio, media_type
from voxclone.core.types import Audio, new_id
from voxclone.engines.base import SynthesisParams, TTSEngine
from voxclone.engines.text import split_sentences
from voxclone.services.metrics import Metrics
from voxclone.services.streaming import EngineChunks
from voxclone.services.synthesis.mark import Marker, StreamMarker
from voxclone.services.synthesis.plan import Plan
from voxclone.services.synthesis_request import SynthesizedAudio
from voxclone.services.voices import VoiceService

ProgressSink = Callable[[float], Awaitable[None]]
MarkFn = Callable[[Audio], Audio]


class Renderer:
    def __init__(
        self,
        *,
        voices: VoiceService,
        metrics: Metrics,
        max_output_s: float | None = None,
        marker: Marker | None = None,
    ) -> None:
        self._voices = voices
        self._metrics = metrics
        self._max_output_s = max_output_s
        self.marker = marker
        """The watermark (None: off)."""

    def marking(self, plan: Plan | None) -> tuple[str | None, MarkFn | None]:
        """The history id reserved for the audio of ``plan`` (None: a one-shot clone) and the
        function that marks it with that id; (None, None) when it is not marked."""
        if self.marker is None or (plan is not None and not self.marker.marks(plan)):
            return None, None
        marker, history_id = self.marker, new_id()
        return history_id, lambda audio: marker.mark(audio, history_id=history_id)

    def stream_marking(self, plan: Plan) -> StreamMarker | None:
        """Marks a stream's chunks as they are made, on one grid (None: not marked)."""
        if self.marker is None or not self.marker.marks(plan):
            return None
        return StreamMarker(self.marker, history_id=new_id())

    async def render(self, plan: Plan, *, progress: ProgressSink | None = None) -> SynthesizedAudio:
        """The whole file for ``plan``, on the plan's engine with the voice's prompt."""
        started = time.perf_counter()
        prompt = await self._voices.prompt_for(plan.voice, plan.engine)
        history_id, mark = self.marking(plan)
        result = await self.render_prompt(
            engine=plan.engine,
            text=plan.text,
            prompt=prompt,
            params=plan.params,
            fmt=plan.fmt,
            sample_rate=plan.sample_rate,
            voice_id=plan.voice.id,
            progress=progress,
            started=started,
            mark=mark,
        )
        return dataclasses.replace(result, history_id=history_id)

    async def render_prompt(
        self,
        *,
        engine: TTSEngine,
        text: str,
        prompt: dict[str, Any],
        params: SynthesisParams,
        fmt: str = "wav",
        sample_rate: int | None = None,
        voice_id: str | None = None,
        progress: ProgressSink | None = None,
        started: float | None = None,
        mark: MarkFn | None = None,
    ) -> SynthesizedAudio:
        """Run the engine on ``text`` with a ready prompt, join the chunks, ``mark`` them (the
        watermark) and encode them."""
        started = started if started is not None else time.perf_counter()
        steps = EngineChunks(engine, text, prompt, params, max_seconds=self._max_output_s)
        if progress is None:  # one worker thread runs the engine, joins, marks and encodes
            try:
                audio, data = await asyncio.to_thread(_made, steps, fmt, sample_rate, mark)
            except asyncio.CancelledError:
                steps.stop()
                raise
        else:
            chunks = await _collect(steps, max(1, len(split_sentences(text))), progress)
            audio, data = await asyncio.to_thread(_whole, chunks, fmt, sample_rate, mark)
        result = _synthesized(
            audio, data, fmt=fmt, engine=engine, voice_id=voice_id, started=started
        )
        self._metrics.note_synthesis(
            backend=engine.name,
            audio_s=result.duration_s,
            wall_s=time.perf_counter() - started,
            characters=len(text),
        )
        return result

    async def prompt(self, plan: Plan) -> dict[str, Any]:
        """The voice's prompt for the plan's engine."""
        return await self._voices.prompt_for(plan.voice, plan.engine)

    async def first_chunk(self, plan: Plan) -> tuple[EngineChunks, Audio]:
        """Start the engine on ``plan``: its chunks, the first already made."""
        prompt = await self._voices.prompt_for(plan.voice, plan.engine)
        chunks = EngineChunks(
            plan.engine, plan.text, prompt, plan.params, max_seconds=self._max_output_s
        )
        return chunks, await chunks.first()

    def note_streamed(self, plan: Plan, *, audio_s: float, started: float) -> None:
        self._metrics.note_synthesis(
            backend=plan.engine.name,
            audio_s=audio_s,
            wall_s=time.perf_counter() - started,
            characters=len(plan.text),
        )


async def _collect(
    steps: EngineChunks, expected: int, progress: ProgressSink | None
) -> list[Audio]:
    """Run the engine off the event loop, chunk by chunk, reporting progress between."""
    chunks = [await steps.first()]
    while True:
        if progress is not None:
            await progress(min(len(chunks) / expected, 0.99))
        chunk = await anext(steps, None)
        if chunk is None:
            return chunks
        chunks.append(chunk)


async def joined(
    chunks: list[Audio],
    *,
    engine: TTSEngine,
    fmt: str,
    sample_rate: int | None,
    voice_id: str | None,
    started: float,
    mark: MarkFn | None = None,
) -> SynthesizedAudio:
    """The chunks joined, marked by ``mark`` (the watermark) and encoded as one file: a
    synchronous result, or a stream's cache."""
    audio, data = await asyncio.to_thread(_whole, chunks, fmt, sample_rate, mark)
    return _synthesized(audio, data, fmt=fmt, engine=engine, voice_id=voice_id, started=started)


def _made(
    steps: EngineChunks, fmt: str, sample_rate: int | None, mark: MarkFn | None
) -> tuple[Audio, bytes]:
    """The engine's whole audio, joined, marked and encoded (in a worker thread)."""
    return _whole(steps.all(), fmt, sample_rate, mark)


def _whole(
    chunks: list[Audio], fmt: str, sample_rate: int | None, mark: MarkFn | None
) -> tuple[Audio, bytes]:
    """The chunks joined, then ``encode_marked`` (in a worker thread)."""
    audio = concat_with_crossfade(chunks)
    return audio, encode_marked(audio, fmt, sample_rate, mark)


def _synthesized(
    audio: Audio,
    data: bytes,
    *,
    fmt: str,
    engine: TTSEngine,
    voice_id: str | None,
    started: float,
) -> SynthesizedAudio:
    return SynthesizedAudio(
        data=data,
        media_type=media_type(fmt),
        duration_s=round(audio.duration_s, 3),
        voice_id=voice_id,
        backend=engine.name,
        synthesis_ms=round((time.perf_counter() - started) * 1000),
        cache_hit=False,
    )


def encode_marked(audio: Audio, fmt: str, sample_rate: int | None, mark: MarkFn | None) -> bytes:
    """``audio`` marked by ``mark`` (None: as it is), encoded (in a worker thread)."""
    return encode_audio(mark(audio) if mark is not None else audio, fmt, sample_rate=sample_rate)
