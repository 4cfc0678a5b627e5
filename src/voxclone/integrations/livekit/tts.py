"""``TTS``: LiveKit's text-to-speech on a voxclone voice.

``synthesize()`` posts the whole text to ``POST /v1/text-to-speech/{voice}/stream`` and emits
the PCM as it arrives; ``stream()`` sends text as the LLM writes it over
``WS /v1/text-to-speech/{voice}/ws``, one WebSocket session per segment (a flush ends the
segment's input; the server speaks what is left, sends ``final`` and closes)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, replace
from typing import Any, Never
from urllib.parse import quote, urlencode

import aiohttp
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectOptions,
    tts,
    utils,
)

from voxclone.integrations.livekit.http import Session, api_errors, auth_headers, raise_for_status
from voxclone.integrations.livekit.ws import receive_error, ws_url

NUM_CHANNELS = 1


@dataclass(frozen=True)
class TTSOptions:
    base_url: str
    api_key: str
    voice: str
    model: str | None
    language: str | None
    speed: float
    sample_rate: int

    @property
    def output_format(self) -> str:
        return f"pcm_{self.sample_rate}"


class TTS(tts.TTS[Never]):
    """Speech in a voxclone voice (its id or name) as PCM s16le mono at ``sample_rate``.

    ``model`` picks the engine (a voxclone backend: ``piper``, ``local``…; absent: the
    voice's own). ``http_session``: an aiohttp session to share (else one of its own)."""

    def __init__(
        self,
        *,
        voice: str,
        base_url: str = "http://localhost:8000",
        api_key: str = "",
        model: str | None = None,
        language: str | None = None,
        speed: float = 1.0,
        sample_rate: int = 24000,
        http_session: aiohttp.ClientSession | None = None,
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, not {sample_rate!r}")
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=True),
            sample_rate=sample_rate,
            num_channels=NUM_CHANNELS,
        )
        self._opts = TTSOptions(
            base_url=base_url.rstrip("/"),
            api_key=api_key,
            voice=voice,
            model=model,
            language=language,
            speed=speed,
            sample_rate=sample_rate,
        )
        self._session = Session(http_session)

    @property
    def model(self) -> str:
        return self._opts.model or "voxclone"

    @property
    def provider(self) -> str:
        return "voxclone"

    def update_options(
        self, *, voice: str | None = None, model: str | None = None, speed: float | None = None
    ) -> None:
        self._opts = replace(
            self._opts,
            voice=voice or self._opts.voice,
            model=model or self._opts.model,
            speed=self._opts.speed if speed is None else speed,
        )

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return ChunkedStream(tts=self, input_text=text, conn_options=conn_options)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        return SynthesizeStream(tts=self, conn_options=conn_options)

    async def aclose(self) -> None:
        await self._session.aclose()


def _voice_settings(opts: TTSOptions) -> dict[str, Any]:
    return {"speed": opts.speed}


class ChunkedStream(tts.ChunkedStream):
    """One text, streamed back over HTTP as it is synthesized."""

    def __init__(self, *, tts: TTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._tts: TTS = tts
        self._opts = tts._opts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        opts = self._opts
        url = f"{opts.base_url}/v1/text-to-speech/{quote(opts.voice, safe='')}/stream"
        body: dict[str, Any] = {"text": self.input_text, "voice_settings": _voice_settings(opts)}
        if opts.model:
            body["model_id"] = opts.model
        if opts.language:
            body["language_code"] = opts.language
        with api_errors(opts.base_url):
            async with self._tts._session.get().post(
                url,
                params={"output_format": opts.output_format},
                json=body,
                headers=auth_headers(opts.api_key),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._conn_options.timeout),
            ) as resp:
                await raise_for_status(resp)
                output_emitter.initialize(
                    request_id=utils.shortuuid(),
                    sample_rate=opts.sample_rate,
                    num_channels=NUM_CHANNELS,
                    mime_type="audio/pcm",
                )
                async for data, _ in resp.content.iter_chunks():
                    output_emitter.push(data)
                output_emitter.flush()


class SynthesizeStream(tts.SynthesizeStream):
    """Text pushed in pieces; each segment (up to a flush) is one WebSocket session."""

    def __init__(self, *, tts: TTS, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, conn_options=conn_options)
        self._tts: TTS = tts
        self._opts = tts._opts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=self._opts.sample_rate,
            num_channels=NUM_CHANNELS,
            mime_type="audio/pcm",
            stream=True,
        )
        pieces: asyncio.Queue[str | None] | None = None
        segment: asyncio.Task[None] | None = None
        try:
            with api_errors(self._opts.base_url):
                async for item in self._input_ch:
                    if isinstance(item, self._FlushSentinel):
                        if pieces is not None and segment is not None:
                            pieces.put_nowait(None)
                            await segment
                        pieces = segment = None
                        continue
                    if pieces is None:
                        pieces = asyncio.Queue()
                        segment = asyncio.create_task(self._segment(pieces, output_emitter))
                    self._mark_started()
                    pieces.put_nowait(item)
                if pieces is not None and segment is not None:
                    pieces.put_nowait(None)
                    await segment
        finally:
            if segment is not None and not segment.done():
                segment.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await segment

    async def _segment(
        self, pieces: asyncio.Queue[str | None], output_emitter: tts.AudioEmitter
    ) -> None:
        opts = self._opts
        query = {"output_format": opts.output_format}
        if opts.model:
            query["model_id"] = opts.model
        if opts.language:
            query["language_code"] = opts.language
        path = f"/v1/text-to-speech/{quote(opts.voice, safe='')}/ws?{urlencode(query)}"
        output_emitter.start_segment(segment_id=utils.shortuuid())
        async with self._tts._session.get().ws_connect(
            ws_url(opts.base_url, path),
            headers=auth_headers(opts.api_key),
            timeout=aiohttp.ClientWSTimeout(ws_close=self._conn_options.timeout),
        ) as ws:
            sender = asyncio.create_task(self._send(ws, pieces))
            try:
                await self._receive(ws, output_emitter)
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
        output_emitter.end_segment()

    async def _send(
        self, ws: aiohttp.ClientWebSocketResponse, pieces: asyncio.Queue[str | None]
    ) -> None:
        first = True
        while True:
            piece = await pieces.get()
            message: dict[str, Any] = {"text": piece or ""}
            if first:
                message["voice_settings"] = _voice_settings(self._opts)
                first = False
            await ws.send_str(json.dumps(message))
            if piece is None:
                return

    async def _receive(
        self, ws: aiohttp.ClientWebSocketResponse, output_emitter: tts.AudioEmitter
    ) -> None:
        error: dict[str, Any] | None = None
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                output_emitter.push(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                event = json.loads(msg.data)
                if event.get("type") == "final":
                    output_emitter.flush()
                    return
                if event.get("type") == "error":
                    error = event
            else:
                break
        raise receive_error(ws, error)
