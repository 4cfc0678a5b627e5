"""``STT``: LiveKit's speech-to-text on a voxclone server.

``recognize`` sends a whole utterance to ``POST /v1/audio/transcriptions``. ``stream`` holds a
realtime session (``WS /v1/realtime``) that only listens: the audio goes up as it comes, the
server's VAD finds each turn (``START_OF_SPEECH``), Whisper hears it, and its words come back as
a ``FINAL_TRANSCRIPT`` followed by ``END_OF_SPEECH``, so an ``AgentSession`` needs no VAD of its
own for turns."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from dataclasses import dataclass
from typing import Any, Never

import aiohttp
import numpy as np
from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectOptions,
    APIStatusError,
    stt,
)
from livekit.agents.language import LanguageCode
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer, is_given, merge_frames

from voxclone.integrations.livekit.http import Session, api_errors, auth_headers, raise_for_status
from voxclone.integrations.livekit.ws import CLOSE_STATUS, ws_url

RATE = 24000
"""The realtime session's input: PCM16 mono at 24 kHz (LiveKit resamples what it is given)."""
END = "end-of-input"
TRANSCRIBED = "conversation.item.input_audio_transcription.completed"
NOT_TRANSCRIBED = "conversation.item.input_audio_transcription.failed"


@dataclass(frozen=True)
class STTOptions:
    base_url: str
    api_key: str
    model: str | None
    language: str | None
    silence_ms: int
    noise_reduction: bool


class STT(stt.STT[Never]):
    """Transcripts from a voxclone server. ``model``: an STT engine (``whisper``…; absent: the
    server's default); ``language``: absent lets Whisper detect it. Streaming: a turn ends
    after ``silence_ms`` of silence; ``noise_reduction`` denoises the input on the server."""

    def __init__(
        self,
        *,
        base_url: str = "http://localhost:8000",
        api_key: str = "",
        model: str | None = None,
        language: str | None = None,
        silence_ms: int = 500,
        noise_reduction: bool = False,
        http_session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=False))
        self._opts = STTOptions(
            base_url=base_url.rstrip("/"),
            api_key=api_key,
            model=model,
            language=language,
            silence_ms=silence_ms,
            noise_reduction=noise_reduction,
        )
        self._session = Session(http_session)

    @property
    def model(self) -> str:
        return self._opts.model or "voxclone"

    @property
    def provider(self) -> str:
        return "voxclone"

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        opts = self._opts
        lang = language if is_given(language) else opts.language
        wav = merge_frames(buffer).to_wav_bytes()
        form = aiohttp.FormData()
        form.add_field("file", wav, filename="audio.wav", content_type="audio/wav")
        form.add_field("response_format", "verbose_json")
        if opts.model:
            form.add_field("model", opts.model)
        if lang:
            form.add_field("language", lang)
        with api_errors(opts.base_url):
            async with self._session.get().post(
                f"{opts.base_url}/v1/audio/transcriptions",
                data=form,
                headers=auth_headers(opts.api_key),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=conn_options.timeout),
            ) as resp:
                await raise_for_status(resp)
                body = await resp.json()
        text = str(body.get("text", "")).strip()
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=resp.headers.get("X-Request-Id", ""),
            alternatives=[
                stt.SpeechData(
                    language=LanguageCode(str(body.get("language") or lang or "")),
                    text=text,
                    end_time=float(body.get("duration") or 0.0),
                )
            ],
        )

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> SpeechStream:
        lang = language if is_given(language) else self._opts.language
        return SpeechStream(stt=self, language=lang, conn_options=conn_options)

    async def aclose(self) -> None:
        await self._session.aclose()


class SpeechStream(stt.RecognizeStream):
    """A listening realtime session: audio in, turns and their words out."""

    def __init__(self, *, stt: STT, language: str | None, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=stt, conn_options=conn_options, sample_rate=RATE)
        self._owner = stt
        self._language = language

    def _session_body(self) -> dict[str, Any]:
        opts = self._owner._opts
        transcription: dict[str, Any] = {"model": opts.model or "whisper-1"}
        if self._language:
            transcription["language"] = self._language
        return {
            "turn_detection": {
                "type": "server_vad",
                "silence_duration_ms": opts.silence_ms,
                "create_response": False,
            },
            "input_audio_transcription": transcription,
            "input_audio_noise_reduction": {"type": "near_field"} if opts.noise_reduction else None,
        }

    async def _run(self) -> None:
        opts = self._owner._opts
        headers = {**auth_headers(opts.api_key), "OpenAI-Beta": "realtime=v1"}
        with api_errors(opts.base_url):
            async with self._owner._session.get().ws_connect(
                ws_url(opts.base_url, "/v1/realtime?model=echo"),
                headers=headers,
                timeout=aiohttp.ClientWSTimeout(ws_close=self._conn_options.timeout),
            ) as ws:
                await ws.send_str(
                    json.dumps({"type": "session.update", "session": self._session_body()})
                )
                sender = asyncio.create_task(self._send(ws))
                try:
                    await self._receive(ws)
                finally:
                    sender.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await sender

    async def _send(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """The audio as ``input_audio_buffer.append``. At the end of input: a commit of what no
        turn holds yet (the server may find nothing), then a ``clear`` whose answer, coming
        after the commit's, says that every turn is committed."""
        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                continue  # the server's VAD decides where turns end
            await ws.send_str(
                json.dumps({"type": "input_audio_buffer.append", "audio": _pcm16(item)})
            )
        await ws.send_str(json.dumps({"type": "input_audio_buffer.commit", "event_id": END}))
        await ws.send_str(json.dumps({"type": "input_audio_buffer.clear"}))

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        pending: set[str] = set()
        """Committed turns whose words have not come yet."""
        spoken: set[str] = set()
        """Turns the server heard begin (the last commit's audio may hold none)."""
        cleared = False
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            event = json.loads(msg.data)
            kind = event.get("type")
            item = str(event.get("item_id") or "")
            if kind == "input_audio_buffer.speech_started":
                spoken.add(item)
                self._event_ch.send_nowait(
                    stt.SpeechEvent(type=stt.SpeechEventType.START_OF_SPEECH, request_id=item)
                )
            elif kind == "input_audio_buffer.committed":
                pending.add(item)
            elif kind in (TRANSCRIBED, NOT_TRANSCRIBED):
                pending.discard(item)
                if kind == TRANSCRIBED and event.get("transcript"):
                    self._final(event["transcript"], item)
                if item in spoken:
                    spoken.discard(item)
                    self._event_ch.send_nowait(
                        stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH, request_id=item)
                    )
            elif kind == "input_audio_buffer.cleared":
                cleared = True
            elif kind == "error":
                error = event.get("error") or {}
                if error.get("event_id") != END:  # (the last commit may find nothing left)
                    with contextlib.suppress(TimeoutError):  # a fatal one closes: its code
                        await ws.receive(timeout=1.0)
                    raise _status_error(error, ws.close_code)
            if cleared and not pending:  # the end of input's marker, and every turn heard
                return
        if ws.close_code not in (None, 1000):
            raise _status_error({}, ws.close_code)

    def _final(self, text: str, request_id: str) -> None:
        self._event_ch.send_nowait(
            stt.SpeechEvent(
                type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                request_id=request_id,
                alternatives=[
                    stt.SpeechData(language=LanguageCode(self._language or ""), text=text.strip())
                ],
            )
        )


def _pcm16(frame: rtc.AudioFrame) -> str:
    samples = np.frombuffer(bytes(frame.data), dtype=np.int16)
    if frame.num_channels > 1:
        samples = samples.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
    return base64.b64encode(samples.astype("<i2").tobytes()).decode()


def _status_error(error: dict[str, Any], close_code: int | None) -> APIStatusError:
    message = f"{error.get('code', 'error')}: {error.get('message', 'the session ended')}"
    status = CLOSE_STATUS.get(close_code or 0, 400)
    return APIStatusError(message, status_code=status, body=error)
