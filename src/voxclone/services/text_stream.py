"""Speech from text that is still being written: an LLM's words come in a few at a time, whole
sentences are synthesized as soon as the next one has begun, and the audio goes out strictly in
the order of the text (``WS /v1/text-to-speech/{voice_id}/ws``).

Each piece is synthesized by ``SynthesisService.stream`` as raw PCM at one fixed rate, so it
goes through the same checks and the same cache as ``POST /v1/text-to-speech/{id}/stream``: a
sentence spoken before in the same voice, rate and speed is a cache hit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from voxclone.core.errors import InvalidText
from voxclone.engines.text import split_sentences
from voxclone.services.keys import Principal
from voxclone.services.synthesis import SynthesisService
from voxclone.services.synthesis.admit import key_id_of
from voxclone.services.synthesis.plan import speakable
from voxclone.services.synthesis_request import SynthesisRequest

log = logging.getLogger(__name__)

BYTES_PER_SAMPLE = 2
"""The audio is PCM s16le, mono."""


class SentenceBuffer:
    """Text added a piece at a time, handed back a sentence at a time (``split_sentences``).

    A sentence is handed back once the text after it shows that it ended (the next sentence has
    begun), because "Dr." or "3." at the end of the text so far may not end anything yet;
    ``drain`` hands back the rest as it is. Whitespace inside a sentence is collapsed, as the
    splitter does; whitespace at the end of the text is kept, so that words sent in pieces
    ("Hello" then " world") stay apart.
    """

    def __init__(self) -> None:
        self._text = ""

    def __len__(self) -> int:
        return len(self._text)

    def add(self, text: str) -> list[str]:
        """Add ``text``; the sentences it completed, in order."""
        self._text += text
        sentences = split_sentences(self._text)
        if len(sentences) < 2:
            return []
        trailing = self._text[len(self._text.rstrip()) :]
        self._text = sentences[-1] + trailing
        return sentences[:-1]

    def drain(self) -> list[str]:
        """Everything left, as sentences; the buffer is then empty."""
        sentences, self._text = split_sentences(self._text), ""
        return sentences


@dataclass(frozen=True, slots=True)
class TextStreamTotals:
    characters: int
    """Characters of text received (every ``text`` field, the initial " " too)."""
    pieces: int
    """Pieces of text synthesized (a sentence each, or what a flush found buffered)."""
    cache_hits: int
    audio_bytes: int
    sample_rate: int

    @property
    def audio_s(self) -> float:
        return self.audio_bytes / BYTES_PER_SAMPLE / self.sample_rate


class TextStream:
    """One connection's text in and audio out.

    ``add`` takes text as it comes (never waiting for synthesis), ``end`` says no more will
    come; ``audio`` yields the PCM of each piece as it is synthesized, in text order, and ends
    after the last piece once the input has ended. Text waiting for synthesis (buffered, queued
    or being spoken) is held to ``max_pending_chars``, and all text received to ``max_chars``:
    more is refused with InvalidText.
    """

    def __init__(
        self,
        *,
        synthesis: SynthesisService,
        caller: Principal,
        request: SynthesisRequest,
        sample_rate: int,
        backend: str,
        max_pending_chars: int,
        max_chars: int,
    ) -> None:
        self._synthesis = synthesis
        self._caller = caller
        self._key_id = key_id_of(caller)
        self._request = request
        self.sample_rate = sample_rate
        self.backend = backend
        self._max_pending = max_pending_chars
        self._max_chars = max_chars
        self._buffer = SentenceBuffer()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queued_chars = 0
        self._characters = 0
        self._pieces = 0
        self._cache_hits = 0
        self._audio_bytes = 0
        self.ended = False

    @classmethod
    async def open(
        cls,
        *,
        synthesis: SynthesisService,
        caller: Principal,
        request: SynthesisRequest,
        max_pending_chars: int,
        max_chars: int,
    ) -> TextStream:
        """Check everything but the text up front (the voice, its engine, the language, the
        rate, and that the key has characters left); PCM at the engine's own rate when
        ``request`` names none. Each piece is admitted and recorded as it is synthesized."""
        voice, engine, _ = await synthesis.check(key_id=key_id_of(caller), req=request)
        await synthesis.admission.admit(caller, characters=0)
        rate = request.sample_rate or engine.capabilities().sample_rate
        return cls(
            synthesis=synthesis,
            caller=caller,
            # The voice by its id: a name or OpenAI alias is resolved once, here.
            request=dataclasses.replace(request, voice_id=voice.id, format="pcm", sample_rate=rate),
            sample_rate=rate,
            backend=engine.name,
            max_pending_chars=max_pending_chars,
            max_chars=max_chars,
        )

    @property
    def voice_id(self) -> str:
        return self._request.voice_id

    @property
    def busy(self) -> bool:
        """Whether text is queued for synthesis or being synthesized."""
        return self._queued_chars > 0

    def totals(self) -> TextStreamTotals:
        return TextStreamTotals(
            characters=self._characters,
            pieces=self._pieces,
            cache_hits=self._cache_hits,
            audio_bytes=self._audio_bytes,
            sample_rate=self.sample_rate,
        )

    async def set_speed(self, speed: float) -> None:
        """Speak every piece at ``speed`` (checked as for HTTP)."""
        request = dataclasses.replace(self._request, speed=speed)
        await self._synthesis.check(key_id=self._key_id, req=request)
        self._request = request

    def add(self, text: str, *, flush: bool = False) -> None:
        """Take ``text``; queue the sentences it completes, or all of it when ``flush``."""
        total = self._characters + len(text)
        if total > self._max_chars:
            raise InvalidText(
                f"this stream has received {total} characters; at most {self._max_chars} are "
                "allowed on one connection",
                length=total,
                max_chars=self._max_chars,
            )
        pending = len(self._buffer) + self._queued_chars + len(text)
        if pending > self._max_pending:
            raise InvalidText(
                f"{pending} characters would be waiting for synthesis; at most "
                f"{self._max_pending} may be at a time (wait for the audio of what was sent)",
                length=pending,
                max_chars=self._max_pending,
            )
        self._characters = total
        for piece in self._buffer.add(text):
            self._queue_piece(piece)
        if flush:
            self.flush()

    def flush(self) -> None:
        """Queue whatever is buffered, finished sentence or not."""
        for piece in self._buffer.drain():
            self._queue_piece(piece)

    def end(self) -> None:
        """No more text: queue the rest; ``audio`` ends after it."""
        if not self.ended:
            self.flush()
            self.ended = True
            self._queue.put_nowait(None)

    def _queue_piece(self, piece: str) -> None:
        if not speakable(piece):
            return  # "..." between sentences, an emoji: nothing to say, nothing to bill
        self._queued_chars += len(piece)
        self._queue.put_nowait(piece)

    async def audio(self) -> AsyncGenerator[bytes, None]:
        """The PCM of each piece, as it is synthesized and in order, until the input has ended.

        Stop iterating (or cancel the task iterating) and the engine is not stepped again.
        """
        try:
            while (piece := await self._queue.get()) is not None:
                stream = await self._synthesis.stream(
                    caller=self._caller,
                    req=dataclasses.replace(self._request, text=piece),
                    entry="ws",
                    requests=1 if self._pieces == 0 else 0,
                )
                async with contextlib.aclosing(stream.pieces) as pieces:
                    async for data in pieces:
                        self._audio_bytes += len(data)
                        yield data
                self._pieces += 1
                self._cache_hits += stream.cache_hit
                self._queued_chars -= len(piece)
        except (asyncio.CancelledError, GeneratorExit):
            log.info(
                "text stream of voice %s stopped after %d piece(s), %d character(s) unspoken",
                self.voice_id,
                self._pieces,
                self._queued_chars + len(self._buffer),
            )
            raise
