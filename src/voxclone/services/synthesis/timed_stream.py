"""Streaming with timestamps: each encoded piece of audio with the alignment of its chunk.

Times are from the start of the whole stream: a chunk's alignment is shifted by the length of
the audio sent before it (chunks are sent one after the other, unjoined). The encoder may hold
a little audio back (MP3 frames), so a piece's bytes can lag its alignment by a frame; the
tail that ``finish`` flushes carries no alignment. Once everything was sent, the whole file is
joined, cached with its own alignment (``timed.TimedSynthesis.store``) and recorded, as
``SynthesisService.stream`` does; a stream cut short is recorded with what was made.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from voxclone.audio import StreamEncoder, check_stream_format, media_type
from voxclone.core.errors import VoxcloneError
from voxclone.core.types import Audio
from voxclone.engines.alignment import Alignment
from voxclone.services.heavy_slots import held_until_closed
from voxclone.services.keys import Principal
from voxclone.services.streaming import _run_detached
from voxclone.services.synthesis.admit import key_id_of
from voxclone.services.synthesis.mark import StreamMarker
from voxclone.services.synthesis.plan import Plan
from voxclone.services.synthesis.render import encode_marked
from voxclone.services.synthesis.timed import (
    TimedChunk,
    TimedChunks,
    TimedSynthesis,
    timed_engine,
    whole_file,
)
from voxclone.services.synthesis_request import SynthesisRequest, SynthesizedAudio

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TimedPiece:
    """Encoded audio and the alignment of the text it speaks (None: no new text)."""

    data: bytes
    alignment: Alignment | None


@dataclass(frozen=True, slots=True)
class TimedStream:
    pieces: AsyncGenerator[TimedPiece, None]
    media_type: str
    voice_id: str
    backend: str
    cache_hit: bool
    text: str
    """The request's text (ElevenLabs' ``alignment`` is over it; the pieces' over it as spoken)."""


async def stream_timed(
    timed: TimedSynthesis, *, caller: Principal, req: SynthesisRequest, entry: str = "stream"
) -> TimedStream:
    """``SynthesisService.stream`` with each piece's alignment (see the module docstring)."""
    check_stream_format(req.format)
    service = timed._service
    plan = await service._admitted(caller, req)
    timed_engine(plan.engine)
    cached = await timed.cached(plan)
    if cached is not None:
        hit, alignment = cached
        await service._record(caller, plan, hit, entry=entry)
        return TimedStream(
            pieces=_one(TimedPiece(hit.data, alignment)),
            media_type=hit.media_type,
            voice_id=plan.voice.id,
            backend=hit.backend,
            cache_hit=True,
            text=plan.text,
        )
    release = await service.admission.heavy.take(key_id_of(caller), work="synthesis")
    try:
        stream = await _stream_miss(timed, caller, plan, entry=entry)
    except BaseException:
        await release()
        raise
    return dataclasses.replace(stream, pieces=held_until_closed(stream.pieces, release))


async def _stream_miss(
    timed: TimedSynthesis, caller: Principal, plan: Plan, *, entry: str
) -> TimedStream:
    service = timed._service
    started = time.perf_counter()
    served, (chunks, first) = await service.router.routed(
        plan, lambda p: _first_chunk(timed, p), service.planner.replan
    )
    marker = service.renderer.stream_marking(plan)  # the watermark: each chunk as it is made
    if marker is not None:
        first = (await asyncio.to_thread(marker.mark_next, first[0]), first[1])
    encoder = StreamEncoder(plan.fmt, sample_rate=plan.sample_rate or first[0].sample_rate)
    try:
        head = await asyncio.to_thread(encoder.encode, first[0])
    except BaseException:
        encoder.close()
        raise

    async def ended(made: list[TimedChunk], complete: bool) -> None:
        audio_s = sum(audio.duration_s for audio, _ in made)
        service.renderer.note_streamed(served, audio_s=audio_s, started=started)
        whole: SynthesizedAudio | None = None
        if complete:
            try:
                source = made
                if marker is not None:  # the whole file is marked as one, with the stream's id
                    source = [(o, t) for o, (_, t) in zip(marker.originals, made, strict=False)]
                joined, alignment = await _joined(served, source, started, marker)
                whole = await timed.store(served, joined, alignment)
            except Exception:  # the act is recorded (billed) all the same
                log.exception("could not keep the timed stream of voice %s", plan.voice.id)
                whole = None
        await service.record_streamed(caller, served, audio_s=audio_s, whole=whole, entry=entry)

    return TimedStream(
        pieces=_pieces(
            chunks,
            first,
            encoder,
            head,
            ended,
            f"timed stream of {plan.voice.id}",
            marker.mark_next if marker is not None else None,
        ),
        media_type=media_type(plan.fmt),
        voice_id=plan.voice.id,
        backend=served.engine.name,
        cache_hit=False,
        text=plan.text,
    )


async def _first_chunk(timed: TimedSynthesis, plan: Plan) -> tuple[TimedChunks, TimedChunk]:
    prompt = await timed._service.renderer.prompt(plan)
    chunks = TimedChunks(timed_engine(plan.engine), plan.text, prompt, plan.params)
    return chunks, await chunks.first()


async def _joined(
    plan: Plan, made: list[TimedChunk], started: float, marker: StreamMarker | None
) -> tuple[SynthesizedAudio, Alignment]:
    audio, alignment = whole_file(made)
    mark = marker.mark_whole if marker is not None else None
    data = await asyncio.to_thread(encode_marked, audio, plan.fmt, plan.sample_rate, mark)
    result = SynthesizedAudio(
        data=data,
        media_type=media_type(plan.fmt),
        duration_s=round(audio.duration_s, 3),
        voice_id=plan.voice.id,
        backend=plan.engine.name,
        synthesis_ms=round((time.perf_counter() - started) * 1000),
        cache_hit=False,
        history_id=marker.history_id if marker is not None else None,
    )
    return result, alignment


async def _one(piece: TimedPiece) -> AsyncGenerator[TimedPiece, None]:
    yield piece


async def _pieces(
    chunks: TimedChunks,
    first: TimedChunk,
    encoder: StreamEncoder,
    head: bytes,
    ended: Callable[[list[TimedChunk], bool], Coroutine[Any, Any, None]],
    label: str,
    mark: Callable[[Audio], Audio] | None,
) -> AsyncGenerator[TimedPiece, None]:
    made = [first]
    offset = first[0].duration_s
    complete = False
    try:
        yield TimedPiece(head, first[1])
        async for made_audio, alignment in chunks:
            audio = made_audio if mark is None else await asyncio.to_thread(mark, made_audio)
            made.append((audio, alignment))
            data = await asyncio.to_thread(encoder.encode, audio)
            yield TimedPiece(data, alignment.shifted(offset))
            offset += audio.duration_s
        if tail := await asyncio.to_thread(encoder.finish):
            yield TimedPiece(tail, None)
        complete = True
    except VoxcloneError as exc:
        log.error("%s broke off after %d chunk(s): %s: %s", label, len(made), exc.code, exc.message)
        raise
    finally:
        encoder.close()
        if not complete:
            _run_detached(ended(made, False), label)
    await ended(made, True)
