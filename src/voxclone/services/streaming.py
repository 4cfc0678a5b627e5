"""Synthesis as it happens: an engine's chunks, produced off the event loop one at a time, and
the encoded pieces of audio sent while the rest is still being synthesized."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from voxclone.audio import StreamEncoder
from voxclone.core.errors import EngineError, OutputTooLong, VoxcloneError
from voxclone.core.types import Audio
from voxclone.engines.base import SynthesisParams, TTSEngine

log = logging.getLogger(__name__)


class EngineChunks:
    """``engine.synthesize(text, ...)`` as an async iterator: each chunk is produced in a worker
    thread, one step at a time, so the event loop runs between chunks and nothing is
    synthesized that nobody asked for (stop iterating and the engine is not stepped again).

    Errors other than VoxcloneErrors become EngineError naming the backend.
    """

    def __init__(
        self,
        engine: TTSEngine,
        text: str,
        prompt: dict[str, Any],
        params: SynthesisParams,
        *,
        max_seconds: float | None = None,
    ) -> None:
        self.engine = engine
        self._text = text
        self._prompt = prompt
        self._params = params
        self._iterator: Iterator[Audio] | None = None
        self._max_seconds = max_seconds
        self._seconds = 0.0
        self._stopped = False

    def __aiter__(self) -> EngineChunks:
        return self

    async def __anext__(self) -> Audio:
        chunk = await asyncio.to_thread(self._next)
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def first(self) -> Audio:
        """The first chunk; EngineError if the engine produces no audio at all."""
        chunk = await anext(self, None)
        if chunk is None:
            raise self._no_audio()
        return chunk

    def all(self) -> list[Audio]:
        """Every chunk, made in the calling thread (a worker thread: one hop for the whole
        text when no one waits between chunks); EngineError if there is no audio at all.
        ``stop`` (from any thread) ends it after the chunk being made."""
        chunks: list[Audio] = []
        while not self._stopped and (chunk := self._next()) is not None:
            chunks.append(chunk)
        if not chunks and not self._stopped:
            raise self._no_audio()
        return chunks

    def stop(self) -> None:
        """No more steps for ``all`` (its caller went away)."""
        self._stopped = True

    def _no_audio(self) -> EngineError:
        name = self.engine.name
        return EngineError(f"backend {name!r} produced no audio", backend=name)

    def _next(self) -> Audio | None:
        """One step of the engine (in a worker thread); None at the end."""
        try:
            chunk = self._step()
        except VoxcloneError:
            raise
        except Exception as exc:
            raise EngineError(
                f"backend {self.engine.name!r} failed: {exc}", backend=self.engine.name
            ) from exc
        if chunk is None:
            return None
        self._seconds += chunk.duration_s
        if self._max_seconds is not None and self._seconds > self._max_seconds:
            raise OutputTooLong(
                f"the audio passed {self._max_seconds:g} s, the most one request may make "
                "(limits.max_output_audio_s): split the text or raise the speed",
                limit_s=self._max_seconds,
            )
        return chunk

    def _step(self) -> Audio | None:
        if self._iterator is None:  # the first step also starts the engine: one thread hop fewer
            self._iterator = iter(self.engine.synthesize(self._text, self._prompt, self._params))
        return next(self._iterator, None)


@dataclass(frozen=True, slots=True)
class SynthesisStream:
    """Audio sent as it is synthesized: what is known before the first byte, and the bytes.

    Iterating ``pieces`` synthesizes the rest; a failure part way raises (the response is then
    cut short). The length and the synthesis time are known up front only for a cache hit.
    """

    pieces: AsyncGenerator[bytes, None]
    media_type: str
    voice_id: str
    backend: str
    cache_hit: bool
    duration_s: float | None = None
    synthesis_ms: int | None = None


async def one_piece(data: bytes) -> AsyncGenerator[bytes, None]:
    """``data`` as a stream of one piece (a cache hit)."""
    yield data


async def encoded_pieces(
    *,
    chunks: EngineChunks,
    first: Audio,
    encoder: StreamEncoder,
    head: bytes,
    ended: Callable[[list[Audio], bool], Coroutine[Any, Any, None]] | None,
    label: str,
    mark: Callable[[Audio], Audio] | None = None,
) -> AsyncGenerator[bytes, None]:
    """``head`` (``first``, already encoded), then each further chunk as ``encoder`` encodes it
    (``mark``ed first: the watermark, when on; ``first`` is already).

    When the stream ends, ``ended`` gets the chunks made and whether that was all of them
    (True: every chunk was sent, so the whole file may be cached). When the consumer stops
    early (the client went away) or the engine fails part way, the engine is not stepped again
    and ``ended`` is still told, with False, from a task of its own so that it runs whatever
    cancelled the stream.
    """
    kept = [first]
    sent = 1
    complete = False
    try:
        if head:
            yield head
        async for made in chunks:
            chunk = made if mark is None else await asyncio.to_thread(mark, made)
            kept.append(chunk)
            if piece := await asyncio.to_thread(encoder.encode, chunk):
                yield piece
            sent += 1
        if tail := await asyncio.to_thread(encoder.finish):
            yield tail
        complete = True
    except VoxcloneError as exc:
        log.error("%s broke off after %d chunk(s): %s: %s", label, sent, exc.code, exc.message)
        raise
    except (asyncio.CancelledError, GeneratorExit):
        log.info("%s stopped after %d chunk(s): the client went away", label, sent)
        raise
    finally:
        encoder.close()
        if ended is not None and not complete:
            _run_detached(ended(kept, False), label)
    if ended is not None:
        await ended(kept, True)


_detached: set[asyncio.Task[None]] = set()


def _run_detached(work: Coroutine[Any, Any, None], label: str) -> None:
    """Run ``work`` to its end in a task that the stream's cancellation does not reach."""

    async def run() -> None:
        try:
            await work
        except Exception:
            log.exception("%s: recording its end failed", label)

    task = asyncio.get_running_loop().create_task(run())
    _detached.add(task)
    task.add_done_callback(_detached.discard)
