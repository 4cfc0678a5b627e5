"""One realtime conversation, whatever carries its events (a WebSocket, a WebRTC data channel).

``handle`` takes each client event as a dict; server events go out through the ``send``
callback. Input audio is decoded, optionally denoised, watched by the turn detector and kept in
the input buffer; a committed turn becomes a user item whose words Whisper hears in the
background; a response asks the answerer for text and speaks it sentence by sentence through
``SynthesisService.stream`` (admitted, cached, metered and kept in history like every other
synthesis), sending the audio no further than ``output_lead_ms`` ahead of real-time playback,
so that a barge-in cuts the answer where the listener is.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxclone.config import RealtimeSettings
from voxclone.core.errors import (
    EngineError,
    InvalidAudio,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    UnsupportedFormat,
    VoxcloneError,
)
from voxclone.core.types import Audio, FloatArray
from voxclone.engines.vad import SileroVad
from voxclone.services.denoise import DenoiseService, DenoiseSession
from voxclone.services.keys import Principal
from voxclone.services.realtime import audio as codec
from voxclone.services.realtime.agent import Answerer
from voxclone.services.realtime.config import (
    SessionConfig,
    parse_max_tokens,
    parse_modalities,
)
from voxclone.services.realtime.items import Item, item_from_event, new_id
from voxclone.services.realtime.turns import (
    SpeechPaused,
    SpeechStarted,
    SpeechStopped,
    TurnDetector,
)
from voxclone.services.synthesis import SynthesisService
from voxclone.services.synthesis.admit import key_id_of
from voxclone.services.synthesis.plan import speakable
from voxclone.services.synthesis_request import SynthesisRequest
from voxclone.services.text_stream import SentenceBuffer
from voxclone.services.transcription import TranscriptionRequest, TranscriptionService

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
CHUNK_S = 0.1
"""Audio deltas of the answer: 100 ms each."""
MIN_COMMIT_MS = 100
"""OpenAI refuses to commit less than 100 ms of audio."""
TAIL_MS = 100
"""Audio kept after the end of speech in a committed turn."""
STALL_S = 0.15
"""A sentence the model has stopped after is spoken when it has written nothing for this long."""
SENTENCE_ENDS = (".", "!", "?", "…", ":", ";")
FATAL = (PayloadTooLarge, InvalidAudio, UnsupportedFormat, QuotaExceeded, RateLimited)
"""Errors that end the session (garbage audio, a wrong format, a limit) rather than one event."""


def protocol_error(code: str, message: str, **details: Any) -> InvalidInput:
    """An error with one of OpenAI's own codes (``input_audio_buffer_commit_empty``...)."""
    error = InvalidInput(message, **details)
    error.code = code
    return error


@dataclass(frozen=True, slots=True)
class SessionDeps:
    synthesis: SynthesisService
    transcription: TranscriptionService
    denoise: DenoiseService
    vad: Callable[[], SileroVad]
    settings: RealtimeSettings
    max_reply_chars: int
    """An answer is cut at this many characters (``limits.max_text_chars``)."""


@dataclass(slots=True)
class _Response:
    id: str
    task: asyncio.Task[None] | None = None
    item: Item | None = None
    cancel_reason: str | None = None
    played_at: Callable[[], int] | None = None


class RealtimeSession:
    def __init__(
        self,
        *,
        deps: SessionDeps,
        caller: Principal,
        model: str,
        answerer: Answerer,
        config: SessionConfig,
        send: Send,
    ) -> None:
        self.id = new_id("sess")
        self._deps = deps
        self._caller = caller
        self._key_id = key_id_of(caller)
        self.model = model
        self._answerer = answerer
        self.config = config
        self._send_event = send
        self.items: list[Item] = []
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0
        """The absolute sample index of the buffer's first sample."""
        self._fed = 0
        self._detector: TurnDetector | None = None
        self._detector_origin = 0
        self._denoiser: DenoiseSession | None = None
        self._speculative: tuple[int, int, asyncio.Task[str]] | None = None
        self._response: _Response | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.input_s = 0.0
        self.output_s = 0.0
        self._voice_id = config.voice
        self._pending_item_id: str | None = None
        """The id the turn being spoken will have (speech_started names it)."""

    # --- the life of the session -------------------------------------------------------------

    @property
    def rate(self) -> int:
        return codec.RATES[self.config.input_audio_format]

    @property
    def responding(self) -> bool:
        return self._response is not None

    async def start(self) -> None:
        """Send ``session.created``. The default voice is checked when a response needs it,
        so that a session opens even where it is not installed (the client names another)."""
        await self._configure(self.config, check_voice=False)
        await self._send("session.created", session=self.session_dict())

    async def close(self) -> None:
        if self._response is not None:
            await self._cancel_response("client_cancelled", notify=False)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._denoiser is not None:
            self._denoiser.close()
            self._denoiser = None

    def session_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "realtime.session",
            "model": self.model,
            **self.config.as_dict(),
        }

    async def handle(self, event: dict[str, Any]) -> None:
        """One client event. A bad one is answered with an ``error`` event; errors in FATAL
        (garbage audio, a wrong format, a limit) are raised to end the session."""
        kind = event.get("type")
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        handler = self._handlers().get(kind) if isinstance(kind, str) else None
        try:
            if handler is None:
                raise InvalidInput(
                    f"unknown event type {kind!r}; known: {', '.join(self._handlers())}",
                    param="type",
                )
            await handler(event)
        except FATAL:
            raise
        except VoxcloneError as exc:
            await self.send_error(exc, event_id=event_id)

    async def send_error(self, exc: VoxcloneError, *, event_id: str | None = None) -> None:
        kind = "server_error" if isinstance(exc, EngineError) else "invalid_request_error"
        details = dict(exc.details)
        await self._send(
            "error",
            error={
                "type": kind,
                "code": exc.code,
                "message": exc.message,
                "param": details.pop("param", details.get("field")),
                "event_id": event_id,
                "details": details,
            },
        )

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[None]]]:
        return {
            "session.update": self._session_update,
            "input_audio_buffer.append": self._append,
            "input_audio_buffer.commit": self._commit_event,
            "input_audio_buffer.clear": self._clear,
            "conversation.item.create": self._item_create,
            "conversation.item.truncate": self._item_truncate,
            "conversation.item.delete": self._item_delete,
            "response.create": self._response_create,
            "response.cancel": self._response_cancel,
        }

    async def _send(self, kind: str, **fields: Any) -> None:
        await self._send_event({"type": kind, "event_id": new_id("event"), **fields})

    # --- the session's configuration -----------------------------------------------------------

    async def _session_update(self, event: dict[str, Any]) -> None:
        body = event.get("session")
        if not isinstance(body, dict):
            raise InvalidInput("session.update needs a session object", param="session")
        await self._configure(self.config.updated(body))
        await self._send("session.updated", session=self.session_dict())

    async def _configure(self, config: SessionConfig, *, check_voice: bool = True) -> None:
        old = self.config
        if check_voice:
            self._voice_id = await self._check_voice(config)
        if config.input_audio_format != old.input_audio_format and self._fed:
            raise UnsupportedFormat(
                "the input audio format cannot change once audio was sent",
                param="session.input_audio_format",
            )
        if config.noise_reduction is None and self._denoiser is not None:
            self._denoiser.close()
            self._denoiser = None
        elif config.noise_reduction is not None and self._denoiser is None:
            self._denoiser = await self._deps.denoise.open_session(
                sample_rate=codec.RATES[config.input_audio_format]
            )
        self.config = config
        if config.turn_detection is None:
            self._detector = None
        elif self._detector is None or old.turn_detection != config.turn_detection:
            vad = await asyncio.to_thread(self._deps.vad)
            self._detector = TurnDetector(vad.stream(self.rate), config.turn_detection)
            self._detector_origin = self._fed

    async def _check_voice(self, config: SessionConfig) -> str:
        """The voice's id (a name or an alias resolved once); the voice must be one the key
        may speak in, on an engine that is there."""
        voice, _, _ = await self._deps.synthesis.check(
            key_id=self._key_id, req=self._synthesis_request(config.voice, "", config)
        )
        return voice.id

    def _synthesis_request(self, voice: str, text: str, config: SessionConfig) -> SynthesisRequest:
        return SynthesisRequest(
            voice_id=voice,
            text=text,
            format="pcm",
            sample_rate=codec.RATES[config.output_audio_format],
            speed=config.speed,
        )

    # --- input audio ---------------------------------------------------------------------------

    async def _append(self, event: dict[str, Any]) -> None:
        data = event.get("audio")
        if not isinstance(data, str):
            raise InvalidAudio("input_audio_buffer.append needs audio: base64", param="audio")
        samples = codec.decode(data, self.config.input_audio_format)
        if not np.all(np.isfinite(samples)):
            raise InvalidAudio("audio holds NaN or infinity", param="audio")
        self.input_s += len(samples) / self.rate
        if self._denoiser is not None:  # what comes out lags the input by ~40 ms
            out = await self._denoiser.feed(samples.astype("<f4").tobytes())
            samples = np.frombuffer(out, dtype="<f4").astype(np.float32)
        self._buffer = np.concatenate([self._buffer, samples])
        self._fed += len(samples)
        if self._detector is not None:
            for turn_event in self._detector.feed(samples):
                await self._on_turn_event(turn_event)
            if not self._detector.speaking:  # between turns: keep only the prefix padding
                keep = self._samples(self._detector.options.prefix_padding_ms) + self.rate // 10
                self._drop_before(self._fed - keep)
        limit = self._deps.settings.max_input_buffer_s
        if len(self._buffer) / self.rate > limit:
            raise PayloadTooLarge(
                f"the input audio buffer holds more than {limit:g} s; commit or clear it",
                max_input_buffer_s=limit,
            )

    async def _on_turn_event(self, turn: SpeechStarted | SpeechPaused | SpeechStopped) -> None:
        assert self.config.turn_detection is not None
        origin_ms = round(self._detector_origin * 1000 / self.rate)
        if isinstance(turn, SpeechStarted):
            await self._send(
                "input_audio_buffer.speech_started",
                audio_start_ms=origin_ms + turn.start_ms,
                item_id=self._next_item_id(),
            )
            if self._response is not None and self.config.turn_detection.interrupt_response:
                await self._cancel_response("turn_detected")
        elif isinstance(turn, SpeechPaused):
            self._transcribe_ahead(origin_ms + turn.start_ms, origin_ms + turn.end_ms)
        else:
            end_ms = origin_ms + turn.end_ms
            await self._send(
                "input_audio_buffer.speech_stopped",
                audio_end_ms=end_ms,
                item_id=self._next_item_id(),
            )
            start_ms = origin_ms + turn.start_ms - self.config.turn_detection.prefix_padding_ms
            ahead = self._speculative
            self._speculative = None
            reuse = ahead[2] if ahead and ahead[:2] == (origin_ms + turn.start_ms, end_ms) else None
            if ahead is not None and reuse is None:
                ahead[2].cancel()
            await self._commit(self._take(start_ms, end_ms + TAIL_MS), transcript=reuse)
            if self.config.turn_detection.create_response and self._response is None:
                await self._start_response({})  # (one still answering hears it next time)

    def _transcribe_ahead(self, start_ms: int, end_ms: int) -> None:
        if self._speculative is not None:
            self._speculative[2].cancel()
        audio = self._slice(start_ms, end_ms + TAIL_MS)
        task = self._spawn(self._transcribe(audio))
        self._speculative = (start_ms, end_ms, task)

    def _samples(self, ms: float) -> int:
        return int(ms * self.rate / 1000)

    def _slice(self, start_ms: int, end_ms: int) -> FloatArray:
        lo = max(0, self._samples(start_ms) - self._buffer_start)
        hi = max(lo, self._samples(end_ms) - self._buffer_start)
        return self._buffer[lo:hi].copy()

    def _take(self, start_ms: int, end_ms: int) -> FloatArray:
        """The audio of a turn, dropped from the buffer with everything before it."""
        audio = self._slice(start_ms, end_ms)
        self._drop_before(self._samples(end_ms))
        return audio

    def _drop_before(self, sample: int) -> None:
        cut = min(len(self._buffer), max(0, sample - self._buffer_start))
        if cut:
            self._buffer = self._buffer[cut:]
            self._buffer_start += cut

    def _next_item_id(self) -> str:
        if self._pending_item_id is None:
            self._pending_item_id = new_id("item")
        return self._pending_item_id

    async def _commit_event(self, event: dict[str, Any]) -> None:
        if len(self._buffer) < self._samples(MIN_COMMIT_MS):
            raise protocol_error(
                "input_audio_buffer_commit_empty",
                f"the input audio buffer holds {len(self._buffer) * 1000 // self.rate} ms; at "
                f"least {MIN_COMMIT_MS} ms are needed to commit",
            )
        audio, self._buffer = self._buffer, np.zeros(0, dtype=np.float32)
        self._buffer_start = self._fed
        await self._commit(audio, transcript=None)

    async def _clear(self, event: dict[str, Any]) -> None:
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = self._fed
        await self._send("input_audio_buffer.cleared")

    async def _commit(self, audio: FloatArray, *, transcript: asyncio.Task[str] | None) -> None:
        item_id = self._next_item_id()
        self._pending_item_id = None
        task = transcript or self._spawn(self._transcribe(audio))
        item = Item(id=item_id, role="user", content_type="input_audio", transcribed=task)
        previous = self.items[-1].id if self.items else None
        self.items.append(item)
        await self._send("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        await self._send(
            "conversation.item.created", previous_item_id=previous, item=item.as_dict()
        )
        self._spawn(self._transcribed(item, task))

    async def _transcribe(self, samples: FloatArray) -> str:
        options = self.config.transcription or {}
        service = self._deps.transcription
        request = TranscriptionRequest(
            backend=service.backend_for_model(options.get("model")),
            language=options.get("language") or None,
            prompt=options.get("prompt") or None,
            beam_size=1,  # greedy: a turn's words are wanted now
        )
        if len(samples) < self._samples(MIN_COMMIT_MS):
            return ""
        result = await service.transcribe_audio(Audio(samples, self.rate), request=request)
        return result.transcript.text.strip()

    async def _transcribed(self, item: Item, task: asyncio.Task[str]) -> None:
        """Tell the client the words of a user's turn once they are known."""
        try:
            item.text = await asyncio.shield(task)
        except asyncio.CancelledError:
            raise
        except VoxcloneError as exc:
            if self.config.transcription is not None:
                await self._send(
                    "conversation.item.input_audio_transcription.failed",
                    item_id=item.id,
                    content_index=0,
                    error={"type": "transcription_error", "code": exc.code, "message": exc.message},
                )
            return
        if self.config.transcription is not None:
            await self._send(
                "conversation.item.input_audio_transcription.completed",
                item_id=item.id,
                content_index=0,
                transcript=item.text,
            )

    # --- conversation items ---------------------------------------------------------------------

    async def _item_create(self, event: dict[str, Any]) -> None:
        item = item_from_event(event.get("item"))
        if any(existing.id == item.id for existing in self.items):
            raise InvalidInput(f"an item {item.id!r} already exists", param="item.id")
        previous = event.get("previous_item_id")
        at = len(self.items)
        if previous is not None:
            at = self._index(previous, param="previous_item_id") + 1
        elif self.items:
            previous = self.items[-1].id
        self.items.insert(at, item)
        await self._send(
            "conversation.item.created", previous_item_id=previous, item=item.as_dict()
        )

    async def _item_delete(self, event: dict[str, Any]) -> None:
        at = self._index(event.get("item_id"), param="item_id")
        item = self.items.pop(at)
        await self._send("conversation.item.deleted", item_id=item.id)

    async def _item_truncate(self, event: dict[str, Any]) -> None:
        item = self.items[self._index(event.get("item_id"), param="item_id")]
        end = event.get("audio_end_ms")
        if item.content_type != "audio":
            raise InvalidInput("only an assistant audio item can be truncated", param="item_id")
        if event.get("content_index", 0) != 0:
            raise InvalidInput("content_index must be 0", param="content_index")
        if isinstance(end, bool) or not isinstance(end, int) or not 0 <= end <= item.audio_ms:
            raise InvalidInput(
                f"audio_end_ms must be an integer from 0 to the item's {item.audio_ms} ms",
                param="audio_end_ms",
            )
        if self._response is not None and self._response.item is item:
            await self._cancel_response("client_cancelled")
        await self._truncate(item, end)

    async def _truncate(self, item: Item, audio_end_ms: int) -> None:
        item.truncate(audio_end_ms)
        await self._send(
            "conversation.item.truncated",
            item_id=item.id,
            content_index=0,
            audio_end_ms=audio_end_ms,
        )

    def _index(self, item_id: object, *, param: str) -> int:
        for at, item in enumerate(self.items):
            if item.id == item_id:
                return at
        raise NotFound(f"no conversation item {item_id!r}", param=param)

    # --- responses ----------------------------------------------------------------------------

    async def _response_create(self, event: dict[str, Any]) -> None:
        options = event.get("response") or {}
        if not isinstance(options, dict):
            raise InvalidInput("response must be an object", param="response")
        if self._response is not None:
            raise protocol_error(
                "conversation_already_has_active_response",
                "a response is in progress; cancel it first",
            )
        await self._start_response(options)

    async def _response_cancel(self, event: dict[str, Any]) -> None:
        if self._response is None:
            raise protocol_error("response_cancel_not_active", "there is no response to cancel")
        await self._cancel_response("client_cancelled")

    async def _start_response(self, options: dict[str, Any]) -> None:
        config = self.config
        if "modalities" in options:
            config = dataclasses.replace(
                config,
                modalities=parse_modalities(options["modalities"], field="response.modalities"),
            )
        if "max_output_tokens" in options:
            config = dataclasses.replace(
                config,
                max_output_tokens=parse_max_tokens(
                    options["max_output_tokens"], field="response.max_output_tokens"
                ),
            )
        voice = self._voice_id
        if "voice" in options or "instructions" in options or "temperature" in options:
            config = config.updated(
                {k: options[k] for k in ("voice", "instructions", "temperature") if k in options}
            )
            voice = await self._check_voice(config)
        response = _Response(id=new_id("resp"))
        self._response = response
        response.task = asyncio.create_task(self._respond(response, config, voice))

    async def _cancel_response(self, reason: str, *, notify: bool = True) -> None:
        response = self._response
        if response is None or response.task is None:
            return
        response.cancel_reason = reason
        response.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await response.task  # it ends with response.done
        item = response.item
        if notify and item is not None and item.content_type == "audio" and response.played_at:
            await self._truncate(item, min(item.audio_ms, response.played_at()))

    def _response_dict(
        self, response: _Response, config: SessionConfig, status: str, **extra: Any
    ) -> dict[str, Any]:
        return {
            "id": response.id,
            "object": "realtime.response",
            "status": status,
            "status_details": extra.pop("status_details", None),
            "output": [response.item.as_dict()] if response.item is not None else [],
            "modalities": list(config.modalities),
            "voice": config.voice,
            "output_audio_format": config.output_audio_format,
            "usage": None,
            **extra,
        }

    async def _respond(self, response: _Response, config: SessionConfig, voice: str) -> None:
        status: str = "completed"
        details: dict[str, Any] | None = None
        await self._send(
            "response.created", response=self._response_dict(response, config, "in_progress")
        )
        try:
            for item in list(self.items):
                if item.transcribed is not None and not item.transcribed.done():
                    with contextlib.suppress(VoxcloneError):
                        await asyncio.shield(item.transcribed)
                    await asyncio.sleep(0)  # the transcript's event goes out first
            turns = [item.turn() for item in self.items]
            audio = "audio" in config.modalities
            item = Item(
                id=new_id("item"),
                role="assistant",
                content_type="audio" if audio else "text",
                status="in_progress",
            )
            response.item = item
            previous = self.items[-1].id if self.items else None
            self.items.append(item)
            ids = {"response_id": response.id, "item_id": item.id, "output_index": 0}
            await self._send(
                "response.output_item.added",
                response_id=response.id,
                output_index=0,
                item=item.as_dict(),
            )
            await self._send(
                "conversation.item.created", previous_item_id=previous, item=item.as_dict()
            )
            part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
            await self._send("response.content_part.added", **ids, content_index=0, part=part)
            text = self._answerer.reply(
                turns,
                instructions=config.instructions,
                temperature=config.temperature,
                max_tokens=config.max_output_tokens,
            )
            if audio:
                await self._speak(response, item, text, config, voice, ids)
                await self._send("response.audio.done", **ids, content_index=0)
                await self._send(
                    "response.audio_transcript.done", **ids, content_index=0, transcript=item.text
                )
            else:
                async for piece in text:
                    item.text += piece
                    await self._send("response.text.delta", **ids, content_index=0, delta=piece)
                await self._send("response.text.done", **ids, content_index=0, text=item.text)
            item.status = "completed"
            done_part = (
                {"type": "audio", "transcript": item.text}
                if audio
                else {"type": "text", "text": item.text}
            )
            await self._send("response.content_part.done", **ids, content_index=0, part=done_part)
            await self._send(
                "response.output_item.done",
                response_id=response.id,
                output_index=0,
                item=item.as_dict(),
            )
        except asyncio.CancelledError:
            if response.cancel_reason is None:
                raise  # the session is going away
            status, details = "cancelled", {"type": "cancelled", "reason": response.cancel_reason}
        except VoxcloneError as exc:
            if isinstance(exc, FATAL) and not isinstance(exc, InvalidAudio):
                log.info("realtime response %s refused: %s", response.id, exc.message)
            status = "failed"
            details = {
                "type": "failed",
                "error": {
                    "type": "server_error"
                    if isinstance(exc, EngineError)
                    else "invalid_request_error",
                    "code": exc.code,
                    "message": exc.message,
                },
            }
            await self.send_error(exc)
        except Exception:  # a bug must end this response, not the session, and say so
            log.exception("realtime response %s failed", response.id)
            status = "failed"
            details = {
                "type": "failed",
                "error": {"type": "server_error", "code": "internal_error"},
            }
            await self.send_error(VoxcloneError("the response failed; see the server's log"))
        finally:
            if self._response is response:
                self._response = None
        if response.item is not None and status != "completed":
            response.item.status = "incomplete"
        await self._send(
            "response.done",
            response=self._response_dict(response, config, status, status_details=details),
        )

    async def _speak(
        self,
        response: _Response,
        item: Item,
        text: Any,
        config: SessionConfig,
        voice: str,
        ids: dict[str, Any],
    ) -> None:
        """The answer's words as they come, and the audio of each sentence once it ends."""
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        buffer = SentenceBuffer()
        limit = self._deps.max_reply_chars

        async def write() -> None:
            pieces = aiter(text)
            pending = ""
            following: asyncio.Future[str] | None = None
            try:
                while True:
                    # A finished sentence is spoken once the next begins, or once the model has
                    # been quiet for STALL_S (its "Dr." would have gone on by then).
                    if following is None:
                        following = asyncio.ensure_future(anext(pieces))
                    stalled = pending.rstrip().endswith(SENTENCE_ENDS)
                    await asyncio.wait({following}, timeout=STALL_S if stalled else None)
                    if not following.done():
                        for sentence in buffer.drain():
                            sentences.put_nowait(sentence)
                        pending = ""
                        continue
                    try:
                        piece = following.result()
                    except StopAsyncIteration:
                        break
                    following = None
                    if len(item.text) + len(piece) > limit:
                        break
                    item.text += piece
                    pending += piece
                    await self._send(
                        "response.audio_transcript.delta", **ids, content_index=0, delta=piece
                    )
                    for sentence in buffer.add(piece):
                        sentences.put_nowait(sentence)
                        pending = ""
                for sentence in buffer.drain():
                    sentences.put_nowait(sentence)
                sentences.put_nowait(None)
            finally:
                if following is not None and not following.done():
                    following.cancel()

        writer = asyncio.create_task(write())
        rate = codec.RATES[config.output_audio_format]
        chunk = int(rate * CHUNK_S)
        lead = self._deps.settings.output_lead_ms / 1000
        play_end = 0.0
        sent_ms = 0

        def played() -> int:
            behind = max(0.0, play_end - time.monotonic())
            return max(0, sent_ms - round(behind * 1000))

        response.played_at = played
        first = True
        try:
            while (sentence := await self._next(sentences, writer)) is not None:
                if not speakable(sentence):
                    continue
                stream = await self._deps.synthesis.stream(
                    caller=self._caller,
                    req=self._synthesis_request(voice, sentence, config),
                    entry="realtime",
                    requests=1 if first else 0,
                )
                first = False
                item.sentences.append((sent_ms, sentence))
                carry = b""
                async with contextlib.aclosing(stream.pieces) as pieces:
                    async for data in pieces:
                        data = carry + data
                        whole = len(data) - len(data) % 2
                        carry = data[whole:]
                        samples = codec.pcm16_samples(data[:whole])
                        for at in range(0, len(samples), chunk):
                            part = samples[at : at + chunk]
                            wait = play_end - time.monotonic() - lead
                            if wait > 0:
                                await asyncio.sleep(wait)
                            await self._send(
                                "response.audio.delta",
                                **ids,
                                content_index=0,
                                delta=codec.encode(part, config.output_audio_format),
                            )
                            duration = len(part) / rate
                            play_end = max(play_end, time.monotonic()) + duration
                            sent_ms += round(duration * 1000)
                            item.audio_ms = sent_ms
                            self.output_s += duration
            await writer
        finally:
            if not writer.done():
                writer.cancel()
                with contextlib.suppress(BaseException):
                    await writer

    @staticmethod
    async def _next(queue: asyncio.Queue[str | None], writer: asyncio.Task[None]) -> str | None:
        """The next sentence; the writer's failure raises here rather than hanging."""
        getter = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait({getter, writer}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            return getter.result()
        getter.cancel()
        writer.result()  # raises the writer's error
        return await queue.get()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
