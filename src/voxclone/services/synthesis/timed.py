"""Synthesis with timestamps: the audio and when each character of the text is heard.

The same pipeline as ``synthesize_now`` and ``stream`` (plan → admit → cache → route → render
→ record) on an engine's ``synthesize_timed`` (``TimedTTSEngine``): the chunks' alignments
are shifted by where each chunk starts in the audio. In a joined file that is where
``concat_with_crossfade`` puts it (each seam overlaps by 10 ms); in a stream, where the chunk
starts in what was sent (chunks are sent one after the other, unjoined).

The cache keeps the alignment next to the audio, as a JSON blob ``<audio key>.alignment.json``
holding the audio's SHA-256: a hit whose audio has no alignment (it was cached by a request
without timestamps) or another one is rendered again, with timing, and replaces the cached
audio, so the audio and the times always belong together.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from voxclone.audio import concat_with_crossfade, media_type
from voxclone.core.errors import EngineError, TimestampsUnsupported, VoxcloneError
from voxclone.core.types import Audio
from voxclone.engines.alignment import Alignment, WordTiming, words_of
from voxclone.engines.base import SynthesisParams, TimedTTSEngine, TTSEngine
from voxclone.services.keys import Principal
from voxclone.services.synthesis.admit import key_id_of
from voxclone.services.synthesis.plan import Plan
from voxclone.services.synthesis.render import encode_marked
from voxclone.services.synthesis_request import SynthesisRequest, SynthesizedAudio
from voxclone.storage.base import BlobStore

if TYPE_CHECKING:
    from voxclone.services.synthesis.service import SynthesisService

SIDECAR = ".alignment.json"
SEAM_MS = 10.0
"""``concat_with_crossfade``'s default fade: how much each seam of a joined file overlaps."""
TimedChunk = tuple[Audio, Alignment]


@dataclass(frozen=True, slots=True)
class TimedAudio:
    """A whole file and its timing: ``alignment`` over the text as spoken (whitespace
    collapsed: ElevenLabs' ``normalized_alignment``), ``original`` over the request's text."""

    audio: SynthesizedAudio
    alignment: Alignment
    original: Alignment

    @property
    def words(self) -> list[WordTiming]:
        return words_of(self.alignment)


def timed_engine(engine: TTSEngine) -> TimedTTSEngine:
    """``engine`` as a timed engine, or TimestampsUnsupported (422) naming it."""
    if isinstance(engine, TimedTTSEngine) and getattr(engine, "timed", True):
        return engine
    raise TimestampsUnsupported(
        f"backend {engine.name!r} cannot give timestamps: only the built-in engines (Kokoro, "
        "Piper) know when they speak each word; remote engines send audio without timing",
        backend=engine.name,
    )


class TimedChunks:
    """``engine.synthesize_timed`` as an async iterator, one chunk per worker-thread step."""

    def __init__(
        self, engine: TimedTTSEngine, text: str, prompt: dict[str, Any], params: SynthesisParams
    ) -> None:
        self.engine = engine
        self._args = (text, prompt, params)
        self._iterator: Iterator[TimedChunk] | None = None

    def __aiter__(self) -> TimedChunks:
        return self

    async def __anext__(self) -> TimedChunk:
        try:
            chunk = await asyncio.to_thread(self._step)
        except VoxcloneError:
            raise
        except Exception as exc:
            name = self.engine.name
            raise EngineError(f"backend {name!r} failed: {exc}", backend=name) from exc
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def first(self) -> TimedChunk:
        chunk = await anext(self, None)
        if chunk is None:
            name = self.engine.name
            raise EngineError(f"backend {name!r} produced no audio", backend=name)
        return chunk

    def _step(self) -> TimedChunk | None:
        if self._iterator is None:
            self._iterator = iter(self.engine.synthesize_timed(*self._args))
        return next(self._iterator, None)


def joined_offsets(sizes: Sequence[int], rate: int, *, fade_ms: float = SEAM_MS) -> list[float]:
    """Where each chunk starts, in seconds, in ``concat_with_crossfade`` of chunks of ``sizes``
    samples (each seam overlaps by the fade, shortened for short chunks; empty ones skipped)."""
    fade = round(fade_ms * rate / 1000)
    offsets: list[float] = []
    total = last = 0
    for size in sizes:
        if size == 0:
            offsets.append(total / rate)
        elif total == 0:
            offsets.append(0.0)
            total = last = size
        else:
            overlap = min(fade, last, size)
            offsets.append((total - overlap) / rate)
            total += size - overlap
            last = size - overlap if size > overlap else last
    return offsets


def whole_file(chunks: Sequence[TimedChunk]) -> tuple[Audio, Alignment]:
    """The chunks joined as one file (as the untimed path joins them) and its alignment."""
    audio = concat_with_crossfade([a for a, _ in chunks])
    offsets = joined_offsets([a.samples.size for a, _ in chunks], audio.sample_rate)
    parts = [timing.shifted(at) for (_, timing), at in zip(chunks, offsets, strict=True)]
    joined = Alignment.joined(parts).clamped(0.0, round(audio.duration_s, 3))
    # a chunk shorter than the fade lies wholly inside the seam before the next one: keep the
    # times from going back
    if not joined.characters:
        return audio, joined
    starts = np.maximum.accumulate(np.array(joined.starts))
    ends = np.maximum(np.maximum.accumulate(np.array(joined.ends)), starts)
    return audio, Alignment.of(joined.text, starts.tolist(), ends.tolist())


class TimedSynthesis:
    """``SynthesisService.synthesize_timed`` and ``stream_timed``: see the module docstring."""

    def __init__(self, service: SynthesisService, blobs: BlobStore) -> None:
        self._service = service
        self._blobs = blobs

    async def synthesize(
        self, *, caller: Principal, req: SynthesisRequest, entry: str = "sync"
    ) -> TimedAudio:
        service = self._service
        plan = await service._admitted(caller, req)
        timed_engine(plan.engine)
        cached = await self.cached(plan)
        if cached is not None:
            result, alignment = cached
        else:
            async with service.admission.heavy.hold(key_id_of(caller), work="synthesis"):
                plan, (result, alignment) = await service.router.routed(
                    plan, self._render, service.planner.replan
                )
            result = await self.store(plan, result, alignment)
        await service._record(caller, plan, result, entry=entry)
        return TimedAudio(result, alignment, alignment.onto(plan.text))

    async def _render(self, plan: Plan) -> tuple[SynthesizedAudio, Alignment]:
        started = time.perf_counter()
        renderer = self._service.renderer
        steps = TimedChunks(
            timed_engine(plan.engine), plan.text, await renderer.prompt(plan), plan.params
        )
        chunks = [await steps.first()]
        chunks += [chunk async for chunk in steps]
        audio, alignment = whole_file(chunks)
        history_id, mark = renderer.marking(plan)
        data = await asyncio.to_thread(encode_marked, audio, plan.fmt, plan.sample_rate, mark)
        renderer.note_streamed(plan, audio_s=audio.duration_s, started=started)
        result = SynthesizedAudio(
            data=data,
            media_type=media_type(plan.fmt),
            duration_s=round(audio.duration_s, 3),
            voice_id=plan.voice.id,
            backend=plan.engine.name,
            synthesis_ms=round((time.perf_counter() - started) * 1000),
            cache_hit=False,
            history_id=history_id,
        )
        return result, alignment

    async def cached(self, plan: Plan) -> tuple[SynthesizedAudio, Alignment] | None:
        """The cached audio of ``plan`` and its alignment, when both are there and match."""
        hit = await self._service.cache.lookup(plan)
        if hit is None or hit.blob_key is None:
            return None
        try:
            stored = json.loads(await self._blobs.get(hit.blob_key + SIDECAR))
            if stored.get("audio_sha256") != hashlib.sha256(hit.data).hexdigest():
                return None
            shape = stored["alignment"]
            alignment = Alignment.of(
                "".join(shape["characters"]),
                shape["character_start_times_seconds"],
                shape["character_end_times_seconds"],
            )
        except (VoxcloneError, ValueError, KeyError, TypeError):
            return None  # no alignment kept (or an unreadable one): rendered again
        return hit, alignment

    async def store(
        self, plan: Plan, result: SynthesizedAudio, alignment: Alignment
    ) -> SynthesizedAudio:
        """Cache the audio (replacing any audio cached without timing) and its alignment."""
        blob_key = await self._service.cache.store(plan, result)
        if blob_key is not None:
            sidecar = {
                "audio_sha256": hashlib.sha256(result.data).hexdigest(),
                "alignment": alignment.to_elevenlabs(),
            }
            await self._blobs.put(blob_key + SIDECAR, json.dumps(sidecar).encode())
        return dataclasses.replace(result, blob_key=blob_key)
