"""A response of a realtime session: the answerer's words, streamed as text or spoken sentence
by sentence through ``SynthesisService.stream`` (admitted, cached, metered and kept in history
like every other synthesis), the audio sent no further than ``output_lead_ms`` ahead of
real-time playback, so that a barge-in cuts the answer where the listener is."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from voxclone.core.errors import (
    InvalidAudio,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    UnsupportedFormat,
    VoxcloneError,
)
from voxclone.services.keys import Principal
from voxclone.services.realtime import audio as codec
from voxclone.services.realtime.agent import Answerer
from voxclone.services.realtime.config import SessionConfig
from voxclone.services.realtime.events import Events, error_type
from voxclone.services.realtime.items import Item, new_id
from voxclone.services.synthesis import SynthesisService
from voxclone.services.synthesis.plan import speakable
from voxclone.services.synthesis_request import SynthesisRequest
from voxclone.services.text_stream import SentenceBuffer

log = logging.getLogger(__name__)

CHUNK_S = 0.1
"""Audio deltas of the answer: 100 ms each."""
STALL_S = 0.15
"""A sentence the model has stopped after is spoken when it has written nothing for this long."""
SENTENCE_ENDS = (".", "!", "?", "…", ":", ";")
FATAL = (PayloadTooLarge, InvalidAudio, UnsupportedFormat, QuotaExceeded, RateLimited)
"""Errors that end the session (garbage audio, a wrong format, a limit) rather than one event."""


@dataclass(slots=True)
class Response:
    id: str
    task: asyncio.Task[None] | None = None
    item: Item | None = None
    cancel_reason: str | None = None
    played_at: Callable[[], int] | None = None
    """Once audio is sent: how much of it (ms) the listener has heard by now."""

    def as_dict(self, config: SessionConfig, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "realtime.response",
            "status": status,
            "status_details": extra.pop("status_details", None),
            "output": [self.item.as_dict()] if self.item is not None else [],
            "modalities": list(config.modalities),
            "voice": config.voice,
            "output_audio_format": config.output_audio_format,
            "usage": None,
            **extra,
        }


def speech_request(voice: str, text: str, config: SessionConfig) -> SynthesisRequest:
    return SynthesisRequest(
        voice_id=voice,
        text=text,
        format="pcm",
        sample_rate=codec.RATES[config.output_audio_format],
        speed=config.speed,
    )


class Responder:
    """Runs the responses of one session over its conversation (``items``, shared with it)."""

    def __init__(
        self,
        *,
        events: Events,
        items: list[Item],
        answerer: Answerer,
        synthesis: SynthesisService,
        caller: Principal,
        output_lead_ms: float,
        max_reply_chars: int,
    ) -> None:
        self._events = events
        self._items = items
        self._answerer = answerer
        self._synthesis = synthesis
        self._caller = caller
        self._lead_s = output_lead_ms / 1000
        self._max_reply_chars = max_reply_chars
        self.output_s = 0.0

    async def run(
        self,
        response: Response,
        config: SessionConfig,
        voice: str,
        *,
        ended: Callable[[Response], None],
    ) -> None:
        """The response from ``response.created`` to ``response.done``; ``ended`` is called
        just before the latter, so that a client answering it may start the next one."""
        emit = self._events.emit
        status: str = "completed"
        details: dict[str, Any] | None = None
        await emit("response.created", response=response.as_dict(config, "in_progress"))
        try:
            await self._answer(response, config, voice)
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
                "error": {"type": error_type(exc), "code": exc.code, "message": exc.message},
            }
            await self._events.error(exc)
        except Exception:  # a bug must end this response, not the session, and say so
            log.exception("realtime response %s failed", response.id)
            status = "failed"
            error = {"type": "server_error", "code": "internal_error"}
            details = {"type": "failed", "error": error}
            await self._events.error(VoxcloneError("the response failed; see the server's log"))
        finally:
            ended(response)
        if response.item is not None and status != "completed":
            response.item.status = "incomplete"
        await emit(
            "response.done", response=response.as_dict(config, status, status_details=details)
        )

    async def _answer(self, response: Response, config: SessionConfig, voice: str) -> None:
        emit = self._events.emit
        for earlier in list(self._items):
            if earlier.transcribed is not None and not earlier.transcribed.done():
                with contextlib.suppress(VoxcloneError):
                    await asyncio.shield(earlier.transcribed)
                await asyncio.sleep(0)  # the transcript's event goes out first
        turns = [earlier.turn() for earlier in self._items]
        audio = "audio" in config.modalities
        item = Item(
            id=new_id("item"),
            role="assistant",
            content_type="audio" if audio else "text",
            status="in_progress",
        )
        response.item = item
        previous = self._items[-1].id if self._items else None
        self._items.append(item)
        ids = {"response_id": response.id, "item_id": item.id, "output_index": 0}
        await emit(
            "response.output_item.added",
            response_id=response.id,
            output_index=0,
            item=item.as_dict(),
        )
        await emit("conversation.item.created", previous_item_id=previous, item=item.as_dict())
        part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        await emit("response.content_part.added", **ids, content_index=0, part=part)
        text = self._answerer.reply(
            turns,
            instructions=config.instructions,
            temperature=config.temperature,
            max_tokens=config.max_output_tokens,
        )
        if audio:
            await self._speak(response, item, text, config, voice, ids)
            await emit("response.audio.done", **ids, content_index=0)
            await emit(
                "response.audio_transcript.done", **ids, content_index=0, transcript=item.text
            )
            done_part = {"type": "audio", "transcript": item.text}
        else:
            async for piece in text:
                item.text += piece
                await emit("response.text.delta", **ids, content_index=0, delta=piece)
            await emit("response.text.done", **ids, content_index=0, text=item.text)
            done_part = {"type": "text", "text": item.text}
        item.status = "completed"
        await emit("response.content_part.done", **ids, content_index=0, part=done_part)
        await emit(
            "response.output_item.done",
            response_id=response.id,
            output_index=0,
            item=item.as_dict(),
        )

    async def _speak(
        self,
        response: Response,
        item: Item,
        text: AsyncIterator[str],
        config: SessionConfig,
        voice: str,
        ids: dict[str, Any],
    ) -> None:
        """The answer's words as they come, and the audio of each sentence once it ends."""
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        writer = asyncio.create_task(self._write(item, text, sentences, ids))
        rate = codec.RATES[config.output_audio_format]
        chunk = int(rate * CHUNK_S)
        play_end = 0.0
        sent_ms = 0

        def played() -> int:
            behind = max(0.0, play_end - time.monotonic())
            return max(0, sent_ms - round(behind * 1000))

        response.played_at = played
        first = True
        try:
            while (sentence := await _next(sentences, writer)) is not None:
                if not speakable(sentence):
                    continue
                stream = await self._synthesis.stream(
                    caller=self._caller,
                    req=speech_request(voice, sentence, config),
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
                            wait = play_end - time.monotonic() - self._lead_s
                            if wait > 0:
                                await asyncio.sleep(wait)
                            await self._events.emit(
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

    async def _write(
        self,
        item: Item,
        text: AsyncIterator[str],
        sentences: asyncio.Queue[str | None],
        ids: dict[str, Any],
    ) -> None:
        """The answer's words to the client as they come, and each finished sentence to
        ``sentences`` (``None`` after the last)."""
        buffer = SentenceBuffer()
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
                if len(item.text) + len(piece) > self._max_reply_chars:
                    break
                item.text += piece
                pending += piece
                await self._events.emit(
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


async def _next(queue: asyncio.Queue[str | None], writer: asyncio.Task[None]) -> str | None:
    """The next sentence; the writer's failure raises here rather than hanging."""
    getter = asyncio.ensure_future(queue.get())
    done, _ = await asyncio.wait({getter, writer}, return_when=asyncio.FIRST_COMPLETED)
    if getter in done:
        return getter.result()
    getter.cancel()
    writer.result()  # raises the writer's error
    return await queue.get()
