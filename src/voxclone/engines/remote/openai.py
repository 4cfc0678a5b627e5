"""Servers that speak the OpenAI audio API: OpenAI itself, speaches, Kokoro-FastAPI and others.

``POST /v1/audio/speech`` (JSON ``model``, ``input``, ``voice``, ``response_format``, ``speed``
→ audio bytes) and ``POST /v1/audio/transcriptions`` (multipart ``file``, ``model``,
``language``, ``response_format`` → JSON). ``Authorization: Bearer`` carries the key.

These servers speak in stock voices; they do not clone. The voice prompt names the stock
voice (the engine's ``voice`` option), so every voxclone voice on such an engine sounds alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from voxclone.core.errors import EngineUnavailable
from voxclone.core.types import Audio
from voxclone.engines.base import (
    ProgressCallback,
    SynthesisParams,
    TranscribeOptions,
    Transcript,
    TTSCapabilities,
    VoicePrompt,
)
from voxclone.engines.remote.pool import PooledEngine, build_pool
from voxclone.engines.remote.wire import (
    Reply,
    audio_from_s16le,
    wav_upload,
)

OPENAI_URL = "https://api.openai.com"
RESPONSE_FORMATS = ("wav", "flac", "mp3", "pcm")
PCM_SAMPLE_RATE = 24000
"""OpenAI's ``pcm`` is headerless 16-bit little-endian mono at 24 kHz."""
LANGUAGES = (
    "en", "es", "fr", "de", "it", "pt", "nl", "pl", "ru", "uk", "tr", "ar", "hi", "ja", "ko",
    "zh", "sv", "da", "no", "fi", "cs", "el", "he", "hu", "id", "ms", "ro", "sk", "th", "vi",
)  # fmt: skip


def _base_urls(urls: Sequence[str | Mapping[str, Any]]) -> list[str | Mapping[str, Any]]:
    """Accept base URLs written with or without the ``/v1`` suffix."""
    out: list[str | Mapping[str, Any]] = []
    for item in urls:
        if isinstance(item, str):
            out.append(item.rstrip("/").removesuffix("/v1"))
        elif isinstance(item, Mapping) and isinstance(item.get("url"), str):
            out.append({**item, "url": item["url"].rstrip("/").removesuffix("/v1")})
        else:
            out.append(item)
    return out


def _probe(path: str) -> Any:
    def probe(client: httpx.Client, base_url: str, timeout_s: float) -> None:
        response = client.get(f"{base_url}{path}", timeout=timeout_s)
        if not 200 <= response.status_code < 300:
            raise ValueError(f"GET {path} answered {response.status_code}")

    return probe


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


class OpenAISpeechEngine(PooledEngine):
    """Text to speech over ``/v1/audio/speech`` (``type = "openai"``, ``kind = "tts"``)."""

    def __init__(
        self,
        name: str,
        urls: Sequence[str | Mapping[str, Any]] = (OPENAI_URL,),
        api_key: str | None = None,
        policy: Mapping[str, Any] | None = None,
        model: str = "tts-1",
        voice: str = "alloy",
        response_format: str = "wav",
        languages: Sequence[str] = LANGUAGES,
        sample_rate: int = 24000,
        health_path: str = "/v1/models",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if response_format not in RESPONSE_FORMATS:
            raise EngineUnavailable(
                f"engine {name!r}: response_format must be one of {', '.join(RESPONSE_FORMATS)}, "
                f"got {response_format!r}",
                backend=name,
            )
        pool = build_pool(
            name,
            _base_urls(urls),
            policy=policy,
            probe=_probe(health_path),
            headers=_headers(api_key),
            transport=transport,
        )
        super().__init__(name, pool)
        self.version = f"openai:{model}:{voice}"
        self.model = model
        self.voice = voice
        self.response_format = response_format
        self._capabilities = TTSCapabilities(
            languages=frozenset(languages), sample_rate=sample_rate, streaming=False
        )

    def capabilities(self) -> TTSCapabilities:
        return self._capabilities

    def create_voice_prompt(
        self,
        reference: Audio,
        transcript: str | None,
        *,
        progress: ProgressCallback | None = None,
    ) -> VoicePrompt:
        """Name the stock voice; the reference is not used (these servers do not clone)."""
        if progress is not None:
            progress(1.0)
        return {"engine": "openai", "voice": self.voice}

    def synthesize(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[Audio]:
        body = {
            "model": self.model,
            "input": text,
            "voice": str(prompt.get("voice") or self.voice),
            "response_format": self.response_format,
            "speed": params.speed,
        }
        return self._speech(body)

    def _speech(self, body: dict[str, Any]) -> Iterator[Audio]:
        def parse(reply: Reply) -> Audio:
            if self.response_format == "pcm":
                return audio_from_s16le(reply.content, PCM_SAMPLE_RATE, engine=self.name)
            return self._audio_file(reply)

        yield self.post("/v1/audio/speech", parse, json=body)


class OpenAITranscriber(PooledEngine):
    """Speech to text over ``/v1/audio/transcriptions`` (``type = "openai"``, ``kind = "stt"``)."""

    def __init__(
        self,
        name: str,
        urls: Sequence[str | Mapping[str, Any]] = (OPENAI_URL,),
        api_key: str | None = None,
        policy: Mapping[str, Any] | None = None,
        model: str = "whisper-1",
        health_path: str = "/v1/models",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        pool = build_pool(
            name,
            _base_urls(urls),
            policy=policy,
            probe=_probe(health_path),
            headers=_headers(api_key),
            transport=transport,
        )
        super().__init__(name, pool)
        self.version = f"openai:{model}"
        self.model = model

    def transcribe(
        self,
        audio: Audio,
        language: str | None = None,
        options: TranscribeOptions | None = None,
    ) -> Transcript:
        upload = wav_upload(audio)
        fields = {"model": self.model, "response_format": "verbose_json"}
        if language:
            fields["language"] = language
        if options is not None and options.prompt:
            fields["prompt"] = options.prompt
        if options is not None and options.temperature is not None:
            fields["temperature"] = str(options.temperature)
        return self.post(
            "/v1/audio/transcriptions",
            self._transcript,
            files={"file": ("audio.wav", upload, "audio/wav")},
            data=fields,
        )
