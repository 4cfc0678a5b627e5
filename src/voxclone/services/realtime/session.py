"""One realtime conversation, whatever carries its events (a WebSocket, a WebRTC data channel).

``handle`` takes each client event as a dict; server events go out through the ``send``
callback. Input audio is decoded, optionally denoised, watched by the turn detector and kept in
the input buffer (input.py); a committed turn becomes a user item whose words Whisper hears in
the background; a response (respond.py) asks the answerer for text and speaks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxclone.config import RealtimeSettings
from voxclone.core.errors import (
    InvalidAudio,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
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
from voxclone.services.realtime.events import Events, Send, protocol_error
from voxclone.services.realtime.input import InputBuffer
from voxclone.services.realtime.items import Item, item_from_event, new_id
from voxclone.services.realtime.respond import FATAL, Responder, Response, speech_request
from voxclone.services.realtime.turns import (
    SpeechPaused,
    SpeechStarted,
    SpeechStopped,
    TurnDetector,
)
from voxclone.services.synthesis import SynthesisService
from voxclone.services.synthesis.admit import key_id_of
from voxclone.services.transcription import TranscriptionRequest, TranscriptionService

__all__ = ["RealtimeSession", "Send", "SessionDeps"]

MIN_COMMIT_MS = 100
"""OpenAI refuses to commit less than 100 ms of audio."""
TAIL_MS = 100
"""Audio kept after the end of speech in a committed turn."""


@dataclass(frozen=True, slots=True)
class SessionDeps:
    synthesis: SynthesisService
    transcription: TranscriptionService
    denoise: DenoiseService
    vad: Callable[[], SileroVad]
    settings: RealtimeSettings
    max_reply_chars: int
    """An answer is cut at this many characters (``limits.max_text_chars``)."""


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
        self._key_id = key_id_of(caller)
        self.model = model
        self.config = config
        self._events = Events(send)
        self.items: list[Item] = []
        self._input = InputBuffer(codec.RATES[config.input_audio_format])
        self._detector: TurnDetector | None = None
        self._detector_origin = 0
        self._denoiser: DenoiseSession | None = None
        self._speculative: tuple[int, int, asyncio.Task[str]] | None = None
        self._responder = Responder(
            events=self._events,
            items=self.items,
            answerer=answerer,
            synthesis=deps.synthesis,
            caller=caller,
            output_lead_ms=deps.settings.output_lead_ms,
            max_reply_chars=deps.max_reply_chars,
        )
        self._response: Response | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.input_s = 0.0
        self._voice_id = config.voice
        self._pending_item_id: str | None = None
        """The id the turn being spoken will have (speech_started names it)."""

    # --- the life of the session -------------------------------------------------------------

    @property
    def rate(self) -> int:
        return self._input.rate

    @property
    def responding(self) -> bool:
        return self._response is not None

    @property
    def output_s(self) -> float:
        return self._responder.output_s

    async def start(self) -> None:
        """Send ``session.created``. The default voice is checked when a response needs it,
        so that a session opens even where it is not installed (the client names another)."""
        await self._configure(self.config, check_voice=False)
        await self._events.emit("session.created", session=self.session_dict())

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
        await self._events.error(exc, event_id=event_id)

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

    # --- the session's configuration -----------------------------------------------------------

    async def _session_update(self, event: dict[str, Any]) -> None:
        body = event.get("session")
        if not isinstance(body, dict):
            raise InvalidInput("session.update needs a session object", param="session")
        await self.update(body)

    async def update(self, body: dict[str, Any]) -> None:
        """Apply a ``session`` object (beta names); a bad one raises."""
        await self._configure(self.config.updated(body))
        await self._events.emit("session.updated", session=self.session_dict())

    async def _configure(self, config: SessionConfig, *, check_voice: bool = True) -> None:
        old = self.config
        if check_voice and config.voice != old.voice:
            self._voice_id = await self._check_voice(config)
        new_rate = config.input_audio_format != old.input_audio_format
        if new_rate:
            if self._input.fed:
                raise UnsupportedFormat(
                    "the input audio format cannot change once audio was sent",
                    param="session.input_audio_format",
                )
            self._input = InputBuffer(codec.RATES[config.input_audio_format])
        if self._denoiser is not None and (config.noise_reduction is None or new_rate):
            self._denoiser.close()
            self._denoiser = None
        if config.noise_reduction is not None and self._denoiser is None:
            self._denoiser = await self._deps.denoise.open_session(sample_rate=self.rate)
        self.config = config
        if config.turn_detection is None:
            self._detector = None
        elif self._detector is None or new_rate or old.turn_detection != config.turn_detection:
            vad = await asyncio.to_thread(self._deps.vad)
            self._detector = TurnDetector(vad.stream(self.rate), config.turn_detection)
            self._detector_origin = self._input.fed

    async def _check_voice(self, config: SessionConfig) -> str:
        """The voice's id (a name or an alias resolved once); the voice must be one the key
        may speak in, on an engine that is there."""
        voice, _, _ = await self._deps.synthesis.check(
            key_id=self._key_id, req=speech_request(config.voice, "", config)
        )
        return voice.id

    # --- input audio ---------------------------------------------------------------------------

    async def _append(self, event: dict[str, Any]) -> None:
        data = event.get("audio")
        if not isinstance(data, str):
            raise InvalidAudio("input_audio_buffer.append needs audio: base64", param="audio")
        await self.append_audio(codec.decode(data, self.config.input_audio_format))

    async def append_audio(self, samples: FloatArray) -> None:
        """Audio of the person at the session's input rate, however it came (an event, a
        WebRTC track)."""
        if not np.all(np.isfinite(samples)):
            raise InvalidAudio("audio holds NaN or infinity", param="audio")
        self.input_s += len(samples) / self.rate
        if self._denoiser is not None:  # what comes out lags the input by ~40 ms
            out = await self._denoiser.feed(samples.astype("<f4").tobytes())
            samples = np.frombuffer(out, dtype="<f4").astype(np.float32)
        self._input.feed(samples)
        if self._detector is not None:
            for turn_event in self._detector.feed(samples):
                await self._on_turn_event(turn_event)
            if not self._detector.speaking:  # between turns: keep only the prefix padding
                padding = self._detector.options.prefix_padding_ms
                self._input.keep_last(self._input.samples(padding) + self.rate // 10)
        limit = self._deps.settings.max_input_buffer_s
        if self._input.seconds > limit:
            raise PayloadTooLarge(
                f"the input audio buffer holds more than {limit:g} s; commit or clear it",
                max_input_buffer_s=limit,
            )

    async def _on_turn_event(self, turn: SpeechStarted | SpeechPaused | SpeechStopped) -> None:
        assert self.config.turn_detection is not None
        origin_ms = round(self._detector_origin * 1000 / self.rate)
        if isinstance(turn, SpeechStarted):
            await self._events.emit(
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
            await self._events.emit(
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
            await self._commit(self._input.take(start_ms, end_ms + TAIL_MS), transcript=reuse)
            if self.config.turn_detection.create_response and self._response is None:
                await self._start_response({})  # (one still answering hears it next time)

    def _transcribe_ahead(self, start_ms: int, end_ms: int) -> None:
        if self._speculative is not None:
            self._speculative[2].cancel()
        audio = self._input.slice(start_ms, end_ms + TAIL_MS)
        task = self._spawn(self._transcribe(audio))
        self._speculative = (start_ms, end_ms, task)

    def _next_item_id(self) -> str:
        if self._pending_item_id is None:
            self._pending_item_id = new_id("item")
        return self._pending_item_id

    async def _commit_event(self, event: dict[str, Any]) -> None:
        if len(self._input) < self._input.samples(MIN_COMMIT_MS):
            raise protocol_error(
                "input_audio_buffer_commit_empty",
                f"the input audio buffer holds {len(self._input) * 1000 // self.rate} ms; at "
                f"least {MIN_COMMIT_MS} ms are needed to commit",
            )
        await self._commit(self._input.take_all(), transcript=None)

    async def _clear(self, event: dict[str, Any]) -> None:
        self._input.clear()
        await self._events.emit("input_audio_buffer.cleared")

    async def _commit(self, audio: FloatArray, *, transcript: asyncio.Task[str] | None) -> None:
        item_id = self._next_item_id()
        self._pending_item_id = None
        task = transcript or self._spawn(self._transcribe(audio))
        item = Item(id=item_id, role="user", content_type="input_audio", transcribed=task)
        previous = self.items[-1].id if self.items else None
        self.items.append(item)
        await self._events.emit(
            "input_audio_buffer.committed", previous_item_id=previous, item_id=item_id
        )
        await self._events.emit(
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
        if len(samples) < self._input.samples(MIN_COMMIT_MS):
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
                await self._events.emit(
                    "conversation.item.input_audio_transcription.failed",
                    item_id=item.id,
                    content_index=0,
                    error={"type": "transcription_error", "code": exc.code, "message": exc.message},
                )
            return
        if self.config.transcription is not None:
            await self._events.emit(
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
        await self._events.emit(
            "conversation.item.created", previous_item_id=previous, item=item.as_dict()
        )

    async def _item_delete(self, event: dict[str, Any]) -> None:
        at = self._index(event.get("item_id"), param="item_id")
        item = self.items.pop(at)
        await self._events.emit("conversation.item.deleted", item_id=item.id)

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
        await self._events.emit(
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
        response = Response(id=new_id("resp"))
        self._response = response
        response.task = asyncio.create_task(
            self._responder.run(response, config, voice, ended=self._ended)
        )

    def _ended(self, response: Response) -> None:
        if self._response is response:
            self._response = None

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

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
