"""``STT``: LiveKit's speech-to-text on voxclone's ``POST /v1/audio/transcriptions``.

voxclone has no streaming-transcription WebSocket of its own besides the OpenAI Realtime
session, so this STT recognizes whole utterances (``streaming=False``); LiveKit's
``AgentSession`` wraps it with its VAD (``stt.StreamAdapter``) as it does OpenAI's Whisper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Never

import aiohttp
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APITimeoutError,
    stt,
)
from livekit.agents.language import LanguageCode
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer, is_given, merge_frames

from voxclone.integrations.livekit.http import Session, auth_headers, raise_for_status


@dataclass(frozen=True)
class STTOptions:
    base_url: str
    api_key: str
    model: str | None
    language: str | None


class STT(stt.STT[Never]):
    """Transcripts from a voxclone server. ``model``: an STT engine (``whisper``…; absent: the
    server's default); ``language``: absent lets Whisper detect it."""

    def __init__(
        self,
        *,
        base_url: str = "http://localhost:8000",
        api_key: str = "",
        model: str | None = None,
        language: str | None = None,
        http_session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._opts = STTOptions(
            base_url=base_url.rstrip("/"), api_key=api_key, model=model, language=language
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
        try:
            async with self._session.get().post(
                f"{opts.base_url}/v1/audio/transcriptions",
                data=form,
                headers=auth_headers(opts.api_key),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=conn_options.timeout),
            ) as resp:
                await raise_for_status(resp)
                body = await resp.json()
        except APIError:
            raise
        except TimeoutError:
            raise APITimeoutError() from None
        except aiohttp.ClientError as exc:
            raise APIConnectionError(f"voxclone at {opts.base_url}: {exc}") from exc
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

    async def aclose(self) -> None:
        await self._session.aclose()
