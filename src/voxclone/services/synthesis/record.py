"""Record: every synthesis that was served is metered (``UsageService``) and handed to the
listeners that keep more of it (generation history).

A job's act is recorded with the job's id as its idempotency key, before the job is marked
finished: a job retried after a crash is counted once, and never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from voxclone.services.synthesis.plan import Plan
from voxclone.services.synthesis_request import SynthesizedAudio
from voxclone.services.usage import UsageRecord, UsageService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SynthesisAct:
    """One synthesis served to a key, whatever the way in."""

    key_id: str
    entry: str
    """synthesize, sync, stream, job, ws, openai, oneshot."""
    text: str
    backend: str
    audio_s: float
    cache_hit: bool
    plan: Plan | None = None
    """None for the one-shot endpoint, which has no stored voice."""
    audio: SynthesizedAudio | None = None
    """The whole file when there is one (a stream's only once all of it was sent)."""
    job_id: str | None = None
    requests: int = 1
    audio_key: str | None = None
    """The blob the audio is stored in (the cache's, or the job's), shared by history."""

    @property
    def characters(self) -> int:
        """What is billed: the text's characters, none on a cache hit."""
        return 0 if self.cache_hit else len(self.text)


SynthesisListener = Callable[[SynthesisAct], Awaitable[None]]


class Recorder:
    def __init__(self, *, usage: UsageService) -> None:
        self._usage = usage
        self._listeners: list[SynthesisListener] = []

    def subscribe(self, listener: SynthesisListener) -> None:
        self._listeners.append(listener)

    async def record(self, act: SynthesisAct) -> None:
        await self._usage.record(
            UsageRecord(
                key_id=act.key_id,
                kind="tts",
                entry=act.entry,
                backend=act.backend,
                voice_id=act.plan.voice.id if act.plan is not None else None,
                characters=act.characters,
                audio_out_s=round(act.audio_s, 3),
                cache_hit=act.cache_hit,
                requests=act.requests,
                event_key=f"job:{act.job_id}" if act.job_id else None,
            )
        )
        for listener in self._listeners:
            try:
                await listener(act)
            except Exception:
                log.exception("a synthesis listener failed on %s", act.entry)

    async def record_usage(self, record: UsageRecord) -> None:
        """A speech service's act (transcription, denoise, biometrics): metered the same way."""
        await self._usage.record(record)
