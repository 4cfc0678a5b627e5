"""Realtime sessions: who may open one (sessions per key), who answers in it, and what it
used (seconds of audio heard, metered when it ends; the answers' speech is metered as each
sentence is synthesized)."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator

import httpx

from voxclone.config import AgentSettings, LimitSettings, RealtimeSettings
from voxclone.core.errors import TooManySessions
from voxclone.engines.vad import default_vad
from voxclone.services.denoise import DenoiseService
from voxclone.services.keys import Principal
from voxclone.services.realtime.agent import ECHO, Answerer, ChatAgent, Echo
from voxclone.services.realtime.config import SessionConfig
from voxclone.services.realtime.session import RealtimeSession, Send, SessionDeps
from voxclone.services.synthesis import SynthesisService
from voxclone.services.synthesis.admit import key_id_of
from voxclone.services.synthesis.record import Recorder
from voxclone.services.transcription import TranscriptionService
from voxclone.services.usage import UsageRecord

ENTRY = "realtime"


class RealtimeService:
    def __init__(
        self,
        *,
        synthesis: SynthesisService,
        transcription: TranscriptionService,
        denoise: DenoiseService,
        recorder: Recorder,
        settings: RealtimeSettings,
        agent: AgentSettings,
        limits: LimitSettings,
    ) -> None:
        self.settings = settings
        self._agent = agent
        self._recorder = recorder
        self._transcription = transcription
        self._deps = SessionDeps(
            synthesis=synthesis,
            transcription=transcription,
            denoise=denoise,
            vad=default_vad,
            settings=settings,
            max_reply_chars=limits.max_text_chars,
        )
        self._open: Counter[str] = Counter()

    def answerer(self, model: str | None, client: httpx.AsyncClient) -> Answerer:
        """``echo``, or the operator's language model for any other name (OpenAI clients
        send their own model names); refused when none is configured."""
        if (model or "").strip() == ECHO or (not model and not self._agent.llm_url):
            return Echo()
        return ChatAgent(self._agent, client)

    @contextlib.asynccontextmanager
    async def session(
        self, *, caller: Principal, model: str | None, send: Send
    ) -> AsyncIterator[RealtimeSession]:
        """A started session (``session.created`` sent), held against the key's limit until
        the block ends; its input audio is then metered."""
        key_id = key_id_of(caller)
        limit = self.settings.max_sessions_per_key
        if self._open[key_id] >= limit:
            raise TooManySessions(
                f"this key has {limit} realtime sessions open; at most {limit} are allowed",
                retry_after_s=1.0,
                max_sessions=limit,
            )
        self._open[key_id] += 1
        client = httpx.AsyncClient()
        session: RealtimeSession | None = None
        try:
            answerer = self.answerer(model, client)
            session = RealtimeSession(
                deps=self._deps,
                caller=caller,
                model=answerer.name if answerer.name == ECHO else (model or answerer.name),
                answerer=answerer,
                config=SessionConfig(voice=self.settings.default_voice),
                send=send,
            )
            await session.start()
            yield session
        finally:
            self._open[key_id] -= 1
            if not self._open[key_id]:
                del self._open[key_id]
            if session is not None:
                await session.close()
            await client.aclose()
            if session is not None and session.input_s > 0:
                await self._recorder.record_usage(
                    UsageRecord(
                        key_id=key_id,
                        kind="stt",
                        entry=ENTRY,
                        backend=self._transcription.default_backend,
                        audio_in_s=round(session.input_s, 3),
                    )
                )
