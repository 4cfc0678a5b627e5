"""Provider servers: the HTTP spec of voicebox's external-provider document.

``POST /v1/create_voice_prompt`` (multipart ``audio``, ``reference_text`` → ``voice_prompt``),
``POST /v1/generate`` (``text``, ``voice_prompt``, ``language``, ``seed`` → base64 samples,
``sample_rate``, ``dtype``), ``GET /health``, and ``POST /v1/transcribe`` for speech to text;
``X-API-Key`` when the server wants one. ``voxclone provider serve`` is such a server; so is a
Qwen3-TTS box running the document's example.

The voice prompt a provider returns is stored with the voice (per engine) and sent back with
every ``generate``, so the reference clip crosses the network once per voice, not per request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from voxclone.core.types import Audio
from voxclone.engines.base import (
    ProgressCallback,
    SynthesisParams,
    Transcript,
    TTSCapabilities,
    VoicePrompt,
)
from voxclone.engines.remote.pool import PooledEngine, build_pool, probe_status_json
from voxclone.engines.remote.wire import (
    RAW_MEDIA_TYPE,
    Reply,
    audio_from_pcm_b64,
    audio_from_raw_reply,
    garbage,
    wav_upload,
)

QWEN3_LANGUAGES = ("en", "zh", "ja", "ko", "de", "fr", "ru", "pt", "es", "it")
"""What Qwen3-TTS speaks, the default for a provider whose entry names no languages."""


def _headers(api_key: str | None) -> dict[str, str]:
    return {"X-API-Key": api_key} if api_key else {}


class ProviderEngine(PooledEngine):
    """Text to speech on one or more provider servers (``type = "provider"``).

    ``model`` names what the servers run; it is part of the engine version, so the synthesis
    cache and stored voice prompts are renewed when it changes. ``languages`` and
    ``sample_rate`` describe the servers (the spec's ``/health`` does not say). ``binary`` asks
    for the samples as raw bytes (``Accept: application/octet-stream``), which voxclone's own
    provider server honours, saving base64 and JSON on both ends; other servers answer the
    spec's JSON, which is read as well.
    """

    def __init__(
        self,
        name: str,
        urls: Sequence[str | Mapping[str, Any]],
        api_key: str | None = None,
        policy: Mapping[str, Any] | None = None,
        model: str = "remote",
        languages: Sequence[str] = QWEN3_LANGUAGES,
        sample_rate: int = 24000,
        cloning: bool = True,
        binary: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        pool = build_pool(
            name,
            urls,
            policy=policy,
            probe=probe_status_json("/health"),
            headers=_headers(api_key),
            transport=transport,
        )
        super().__init__(name, pool)
        self.version = f"provider:{model}"
        self._accept = f"{RAW_MEDIA_TYPE}, application/json;q=0.5" if binary else "application/json"
        self._capabilities = TTSCapabilities(
            languages=frozenset(languages),
            sample_rate=sample_rate,
            streaming=False,
            cloning=cloning,
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
        upload = wav_upload(reference)

        def parse(reply: Reply) -> VoicePrompt:
            body = reply.json(engine=self.name)
            prompt = body.get("voice_prompt") if isinstance(body, dict) else None
            if not isinstance(prompt, dict):
                raise garbage(self.name, "'voice_prompt' is missing or not an object")
            return prompt

        prompt = self.post(
            "/v1/create_voice_prompt",
            parse,
            files={"audio": ("reference.wav", upload, "audio/wav")},
            data={"reference_text": transcript or ""},
        )
        if progress is not None:
            progress(1.0)
        return prompt

    def synthesize(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[Audio]:
        payload: dict[str, Any] = {
            "text": text,
            "voice_prompt": prompt,
            "language": params.language,
            "seed": params.seed,
        }
        if params.speed != 1.0:
            payload["speed"] = params.speed
        if params.temperature is not None:
            payload["temperature"] = params.temperature
        return self._generate(payload)

    def _generate(self, payload: dict[str, Any]) -> Iterator[Audio]:
        def parse(reply: Reply) -> Audio:
            if reply.content_type == RAW_MEDIA_TYPE:
                return audio_from_raw_reply(reply, engine=self.name)
            return audio_from_pcm_b64(reply.json(engine=self.name), engine=self.name)

        yield self.post("/v1/generate", parse, json=payload, headers={"Accept": self._accept})


class ProviderTranscriber(PooledEngine):
    """Speech to text on provider servers' ``POST /v1/transcribe`` (``kind = "stt"``)."""

    def __init__(
        self,
        name: str,
        urls: Sequence[str | Mapping[str, Any]],
        api_key: str | None = None,
        policy: Mapping[str, Any] | None = None,
        model: str = "remote",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        pool = build_pool(
            name,
            urls,
            policy=policy,
            probe=probe_status_json("/health"),
            headers=_headers(api_key),
            transport=transport,
        )
        super().__init__(name, pool)
        self.version = f"provider:{model}"

    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        upload = wav_upload(audio)
        data = {"language": language} if language else {}
        return self.post(
            "/v1/transcribe",
            self._transcript,
            files={"audio": ("audio.wav", upload, "audio/wav")},
            data=data,
        )
