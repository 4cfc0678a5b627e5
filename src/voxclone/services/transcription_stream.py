"""A transcription sent as it is decoded: the text of each segment as soon as the engine has
it, then the whole result. Engines that decode all at once give one delta at the end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from voxclone.engines.base import Segment
from voxclone.services.transcription import (
    PreparedTranscription,
    TranscriptionResult,
    TranscriptionService,
)


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


async def stream_transcription(
    service: TranscriptionService, prepared: PreparedTranscription
) -> AsyncIterator[TextDelta | TranscriptionResult]:
    """TextDelta pieces whose concatenation is the transcript's text, then the result. A
    failure raises from the iterator; closing the iterator early cancels the wait (the
    engine's thread finishes its work on its own)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Segment | None] = asyncio.Queue()

    def on_segment(segment: Segment) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, segment)

    task = asyncio.create_task(service.run(prepared, on_segment=on_segment))
    # the engine's segments are queued before its result, so None arrives after all of them
    task.add_done_callback(lambda _: queue.put_nowait(None))
    sent = ""
    try:
        while (segment := await queue.get()) is not None:
            text = segment.text.strip()
            if text:
                piece = f" {text}" if sent else text
                sent += piece
                yield TextDelta(piece)
        result = await task
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    text = result.transcript.text
    rest = text[len(sent) :] if text.startswith(sent) else ""  # the done event has it all
    if rest:
        yield TextDelta(rest)
    yield result
