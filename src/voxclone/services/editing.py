"""Audio editing (non-destructive): operations on an upload, a history item or a job's audio,
each result kept as a new history item (``entry="edit"``); the source is never changed.

The work runs off the event loop and is bounded: a request has at most
``limits.max_edit_operations`` operations and ``MAX_SOURCES`` sources; sources are bounded like
speech-to-text uploads; and no operation but ``trim`` and ``split`` (which may cut a longer
source down) works on, or makes, more than ``limits.max_edit_output_s`` seconds. Everything is
checked and rendered before the first result is stored, so a refused edit stores nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxclone.audio import decode_audio, encode_audio, media_type
from voxclone.audio.codec import output_rate
from voxclone.config import LimitSettings
from voxclone.core.errors import (
    AudioDurationOutOfRange,
    InvalidInput,
    JobNotReady,
    SourceNotReady,
    Unprocessable,
)
from voxclone.core.types import Audio, parse_id
from voxclone.db.tables import HistoryItem
from voxclone.services import edit_steps as s
from voxclone.services.history import HistoryService
from voxclone.services.jobs import JobService
from voxclone.services.voiceprints import SpeechDetector

ENTRY = "edit"
MAX_SOURCES = 16
"""Most distinct sources (the main one and concat's) in one edit."""
_PCM_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


@dataclass(frozen=True, slots=True)
class _Loaded:
    audio: Audio
    item: HistoryItem | None = None
    job_id: str | None = None


@dataclass(frozen=True, slots=True)
class EditResult:
    items: list[HistoryItem]
    """One per part, in order (several after a ``split``)."""
    data: bytes
    """The first part's audio (what ``?download=true`` returns; an edit to download makes one)."""
    media_type: str
    format: str
    duration_s: float
    """The first part's."""


class EditingService:
    def __init__(
        self,
        *,
        history: HistoryService,
        jobs: JobService,
        limits: LimitSettings,
        vad: SpeechDetector | None = None,
    ) -> None:
        self._history = history
        self._jobs = jobs
        self._limits = limits
        self._vad = vad

    async def edit(self, *, key_id: str, plan: s.EditPlan, single: bool = False) -> EditResult:
        """Run ``plan`` on the key's sources and store its results. With ``single``, an edit
        that makes several parts is refused (before anything is stored)."""
        self._check_plan(plan)
        loaded = {ref: await self._load(key_id, ref, plan) for ref in plan.sources()}
        vad = None
        if any(isinstance(step, s.TrimSilence) for step in plan.steps):
            vad = await self._speech_detector()
        sources = {ref: source.audio for ref, source in loaded.items()}
        parts = await asyncio.to_thread(self._run, plan, sources, vad)
        if single and len(parts) > 1:
            raise InvalidInput(
                f"this edit makes {len(parts)} parts (split); download=true returns one file: "
                "ask for JSON and fetch each part's audio_url",
                field="download",
                parts=len(parts),
            )
        encoded = [await asyncio.to_thread(_encode, part, plan) for part in parts]
        source = loaded[plan.source]
        items = []
        for index, (data, rate, duration_s) in enumerate(encoded):
            params: dict[str, Any] = {
                "operations": [s.describe(step) for step in plan.steps],
                "format": plan.format,
                "sample_rate": rate,
            }
            if len(parts) > 1:
                params |= {"part": index, "parts": len(parts)}
            items.append(await self._store(key_id, source, data, duration_s, params, plan.format))
        return EditResult(
            items=items,
            data=encoded[0][0],
            media_type=media_type(plan.format),
            format=plan.format,
            duration_s=encoded[0][2],
        )

    async def _store(
        self,
        key_id: str,
        source: _Loaded,
        data: bytes,
        duration_s: float,
        params: dict[str, Any],
        fmt: str,
    ) -> HistoryItem:
        """One result as a history item; an edit of a history item keeps its text and voice."""
        item = source.item
        return await self._history.add(
            key_id=key_id,
            audio=data,
            audio_format=fmt,
            duration_s=duration_s,
            entry=ENTRY,
            text=item.text if item is not None else "",
            voice_id=item.voice_id if item is not None else None,
            voice_name=item.voice_name if item is not None else None,
            lang=item.lang if item is not None else None,
            params=params,
            backend=item.backend if item is not None else "",
            job_id=source.job_id,
            source_id=item.id if item is not None else None,
        )

    # --- checks and sources --------------------------------------------------------------------

    def _check_plan(self, plan: s.EditPlan) -> None:
        limit = self._limits.max_edit_operations
        if not plan.steps:
            raise InvalidInput("operations must not be empty", field="operations")
        if len(plan.steps) > limit:
            raise InvalidInput(
                f"{len(plan.steps)} operations; the limit is {limit}", field="operations", max=limit
            )
        count = len(plan.sources())
        if count > MAX_SOURCES:
            raise InvalidInput(
                f"{count} sources; the limit is {MAX_SOURCES}", field="operations", max=MAX_SOURCES
            )

    async def _load(self, key_id: str, ref: s.SourceRef, plan: s.EditPlan) -> _Loaded:
        """A source's audio, decoded; a concat source is no longer than an edit's output."""
        main = ref == plan.source
        limit = self._limits.max_speech_audio_s if main else self._limits.max_edit_output_s
        if ref.upload is not None:
            data = plan.uploads.get(ref.upload)
            if data is None:
                raise InvalidInput(
                    f"source upload {ref.upload!r} names no file field of this request",
                    field=ref.upload,
                )
            return _Loaded(await asyncio.to_thread(_decode, data, "", 0.0, limit))
        if ref.history_id is not None:
            history_id = parse_id(ref.history_id, what="history_id")
            item = await self._history.get(key_id=key_id, history_id=history_id)
            data, fmt = await self._history.audio(key_id=key_id, history_id=item.id)
            rate = item.params.get("sample_rate")
            args = (data, fmt, item.duration_s, limit, rate if isinstance(rate, int) else None)
            return _Loaded(await asyncio.to_thread(_decode, *args), item=item)
        assert ref.job_id is not None
        job_id = parse_id(ref.job_id, what="job_id")
        try:
            job_audio = await self._jobs.audio(key_id=key_id, job_id=job_id)
        except JobNotReady as exc:
            status = exc.details.get("status")
            raise SourceNotReady(
                f"job {job_id} has no audio to edit: its status is {status}",
                job_id=job_id,
                status=status,
                field="source.job_id" if main else "operations",
            ) from exc
        data = b"".join([chunk async for chunk in job_audio.chunks])
        fmt = "pcm" if job_audio.media_type == media_type("pcm") else ""
        duration_s = job_audio.duration_s or 0.0
        audio = await asyncio.to_thread(_decode, data, fmt, duration_s, limit)
        return _Loaded(audio, job_id=job_id)

    async def _speech_detector(self) -> SpeechDetector:
        """The VAD (Silero, ``engines/vad.py``), loaded off the event loop on first use."""
        if self._vad is None:
            from voxclone.engines.vad import default_vad

            self._vad = await asyncio.to_thread(default_vad)
        return self._vad

    # --- running -------------------------------------------------------------------------------

    def _run(
        self, plan: s.EditPlan, sources: dict[s.SourceRef, Audio], vad: SpeechDetector | None
    ) -> list[Audio]:
        parts = [sources[plan.source]]
        for index, step in enumerate(plan.steps):
            if not isinstance(step, s.Trim | s.Split):
                self._bound(index, step, max(s.seconds(parts), s.predicted_s(step, parts, sources)))
            try:
                parts = s.apply(step, parts, sources, vad)
            except ValueError as exc:
                raise Unprocessable(
                    f"operations[{index}] ({step.op}): {exc}",
                    field=f"operations.{index}",
                    op=step.op,
                ) from exc
        self._bound(len(plan.steps) - 1, plan.steps[-1], s.seconds(parts))
        return parts

    def _bound(self, index: int, step: s.Step, seconds: float) -> None:
        limit = self._limits.max_edit_output_s
        if seconds > limit:
            raise AudioDurationOutOfRange(
                f"operations[{index}] ({step.op}) would work on or make {seconds:.1f} s of audio; "
                f"the limit is {limit:g} s (trim the source first)",
                field=f"operations.{index}",
                op=step.op,
                duration_s=round(seconds, 3),
                max_s=limit,
            )


def _decode(
    data: bytes, fmt: str, duration_s: float, limit_s: float, rate: int | None = None
) -> Audio:
    """Stored or uploaded audio as ``Audio``. Raw "pcm" (s16le, no header) is at ``rate``, or
    at the common rate its length and ``duration_s`` point to."""
    if fmt != "pcm":
        return decode_audio(data, max_seconds=limit_s).audio
    count = len(data) // 2
    if rate is None:
        if duration_s <= 0:
            raise Unprocessable("raw PCM audio of unknown duration cannot be edited")
        rate = min(_PCM_RATES, key=lambda known: abs(known - count / duration_s))
    if count / rate > limit_s:
        raise AudioDurationOutOfRange(
            f"the audio is {count / rate:.1f} s long; the limit is {limit_s:g} s",
            duration_s=round(count / rate, 3),
            max_s=limit_s,
        )
    pcm = np.frombuffer(data[: count * 2], dtype="<i2")
    return Audio((pcm.astype(np.float32) / 32768.0).astype(np.float32), rate)


def _encode(audio: Audio, plan: s.EditPlan) -> tuple[bytes, int, float]:
    """A part in the plan's format: (bytes, the rate written, seconds)."""
    if audio.samples.size == 0:
        raise Unprocessable("the edit left no audio (a part is empty)", field="operations")
    rate = output_rate(plan.format, plan.sample_rate or audio.sample_rate)
    return encode_audio(audio, plan.format, sample_rate=rate), rate, audio.duration_s
