"""Realtime sessions: who may open one (sessions per key), who answers in it, and what it
used (seconds of audio heard, metered when it ends; the answers' speech is metered as each
sentence is synthesized); and the WebRTC calls that carry some of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

from voxclone.config import AgentSettings, LimitSettings, RealtimeSettings
from voxclone.core.errors import NotFound, TooManySessions, VoxcloneError
from voxclone.engines.vad import default_vad
from voxclone.services.denoise import DenoiseService
from voxclone.services.keys import Principal
from voxclone.services.realtime.agent import ECHO, Answerer, ChatAgent, Echo
from voxclone.services.realtime.config import SessionConfig
from voxclone.services.realtime.dialect import session_in
from voxclone.services.realtime.session import RealtimeSession, Send, SessionDeps
from voxclone.services.synthesis import SynthesisService
from voxclone.services.synthesis.admit import key_id_of
from voxclone.services.synthesis.record import Recorder
from voxclone.services.transcription import TranscriptionService
from voxclone.services.usage import UsageRecord

if TYPE_CHECKING:
    from voxclone.services.realtime.webrtc import Call

log = logging.getLogger(__name__)

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
        self._calls: dict[str, Call] = {}
        self._call_tasks: set[asyncio.Task[None]] = set()

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

    # --- WebRTC calls ----------------------------------------------------------------------------

    async def call(
        self,
        *,
        caller: Principal,
        model: str | None,
        offer_sdp: str,
        session: dict[str, Any] | None = None,
    ) -> tuple[Call, str]:
        """A WebRTC call and the SDP answer to its offer. The session is admitted (sessions per
        key) and configured (``session``, GA names) before the offer is answered, so a refused
        call costs no ICE work; it then runs until hung up, gone or out of time."""
        from voxclone.services.realtime.webrtc import Call  # aiortc and PyAV: 50 MB, on first call

        call = Call(ice_servers=self.settings.ice_servers, key_id=key_id_of(caller))
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._run_call(call, caller, model, session, ready))
        self._call_tasks.add(task)
        task.add_done_callback(self._call_tasks.discard)
        try:
            await asyncio.shield(ready)
            answer = await call.answer(offer_sdp)
        except BaseException:
            call.end("refused")
            raise
        return call, answer

    async def _run_call(
        self,
        call: Call,
        caller: Principal,
        model: str | None,
        body: dict[str, Any] | None,
        ready: asyncio.Future[None],
    ) -> None:
        self._calls[call.id] = call
        try:
            async with self.session(caller=caller, model=model, send=call.send) as session:
                if body is not None:
                    await session.update(session_in(body))
                ready.set_result(None)
                await call.serve(session, max_s=self.settings.max_session_s)
        except VoxcloneError as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.info("realtime call %s ended: %s", call.id, exc.message)
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            log.exception("realtime call %s failed", call.id)
        finally:
            del self._calls[call.id]
            await call.close()
            log.info("realtime call %s ended (%s)", call.id, call.end_reason)

    def hang_up(self, call_id: str, *, caller: Principal) -> None:
        call = self._calls.get(call_id)
        if call is None or call.key_id != key_id_of(caller):
            raise NotFound(f"no realtime call {call_id!r}", call_id=call_id)
        call.end("hung up")

    async def close(self) -> None:
        """End every call (the server is stopping)."""
        for call in list(self._calls.values()):
            call.end("server stopping")
        await asyncio.gather(*self._call_tasks, return_exceptions=True)
