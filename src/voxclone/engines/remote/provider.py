"""Provider servers: the HTTP spec of voicebox's external-provider document.

``POST /v1/create_voice_prompt`` (multipart ``audio``, ``reference_text`` → ``voice_prompt``),
``POST /v1/generate`` (``text``, ``voice_prompt``, ``language``, ``seed`` → base64 samples,
``sample_rate``, ``dtype``), ``GET /health``, and ``POST /v1/transcribe`` for speech to text;
``X-API-Key`` when the server wants one. ``voxclone provider serve`` is such a server; so is a
Qwen3-TTS box running the document's example. voxclone's own server adds ``POST /v1/denoise``
(multipart ``audio`` → the denoised samples) and ``POST /v1/embed`` (multipart ``audio`` →
``{"embedding", "dim", "model"}``), so noise suppression and speaker embeddings can run there too.

The voice prompt a provider returns is stored with the voice (per engine) and sent back with
every ``generate``, so the reference clip crosses the network once per voice, not per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from voxclone.core.errors import EngineUnavailable
from voxclone.core.types import Audio, FloatArray
from voxclone.engines.base import (
    DenoiseStream,
    ProgressCallback,
    SynthesisParams,
    TranscribeOptions,
    Transcript,
    TTSCapabilities,
    VoicePrompt,
)
from voxclone.engines.remote.pool import PooledEngine, build_pool, probe_status_json
from voxclone.engines.remote.wire import (
    RAW_MEDIA_TYPE,
    Reply,
    audio_from_reply,
    embedding_from_json,
    garbage,
    wav_upload,
)

T = TypeVar("T")

QWEN3_LANGUAGES = ("en", "zh", "ja", "ko", "de", "fr", "ru", "pt", "es", "it")
"""What Qwen3-TTS speaks, the default for a provider whose entry names no languages."""


RAW_AUDIO_ACCEPT = f"{RAW_MEDIA_TYPE}, application/json;q=0.5"
"""Raw samples from voxclone's provider server, the spec's base64 JSON from any other."""


class ProviderClient(PooledEngine):
    """What every client of provider servers shares: the pool, ``/health`` probes, the
    ``X-API-Key`` and ``version`` (``provider:{model}``; ``model`` names what the servers run)."""

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
            headers={"X-API-Key": api_key} if api_key else {},
            transport=transport,
        )
        super().__init__(name, pool)
        self.version = f"provider:{model}"

    def _post_audio(
        self, path: str, audio: Audio, parse: Callable[[Reply], T], **request: Any
    ) -> T:
        """POST ``audio`` as the multipart ``audio`` file (16-bit WAV) and ``parse`` the reply."""
        upload = wav_upload(audio)
        return self.post(
            path, parse, files={"audio": ("audio.wav", upload, "audio/wav")}, **request
        )


class ProviderEngine(ProviderClient):
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
        super().__init__(name, urls, api_key, policy, model, transport)
        self._accept = RAW_AUDIO_ACCEPT if binary else "application/json"
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
        def parse(reply: Reply) -> VoicePrompt:
            body = reply.json(engine=self.name)
            prompt = body.get("voice_prompt") if isinstance(body, dict) else None
            if not isinstance(prompt, dict):
                raise garbage(self.name, "'voice_prompt' is missing or not an object")
            return prompt

        prompt = self._post_audio(
            "/v1/create_voice_prompt", reference, parse, data={"reference_text": transcript or ""}
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
        yield self.post("/v1/generate", self._audio, json=payload, headers={"Accept": self._accept})

    def _audio(self, reply: Reply) -> Audio:
        return audio_from_reply(reply, engine=self.name)


class ProviderTranscriber(ProviderClient):
    """Speech to text on provider servers' ``POST /v1/transcribe`` (``kind = "stt"``)."""

    def transcribe(
        self,
        audio: Audio,
        language: str | None = None,
        options: TranscribeOptions | None = None,
    ) -> Transcript:
        """``options`` are not sent: the provider spec's ``/v1/transcribe`` has no fields for
        them."""
        data = {"language": language} if language else {}
        return self._post_audio("/v1/transcribe", audio, self._transcript, data=data)


class ProviderDenoiser(ProviderClient):
    """Noise suppression on provider servers' ``POST /v1/denoise`` (``kind = "denoise"``).

    Whole clips only: ``open_stream`` raises EngineUnavailable. A stream's output must follow
    its input within tens of milliseconds, and the model's recurrent state cannot be carried
    from one HTTP request to the next; buffering the stream until ``flush`` would satisfy the
    protocol while turning a live stream into a batch job, so it is refused instead, with a
    message that says which engine to use.
    """

    def denoise(self, audio: Audio) -> Audio:
        """``audio`` denoised remotely; a reply of another length or rate is unusable."""

        def parse(reply: Reply) -> Audio:
            clean = audio_from_reply(reply, engine=self.name)
            if (clean.sample_rate, clean.samples.size) != (audio.sample_rate, audio.samples.size):
                raise garbage(
                    self.name,
                    f"sent {audio.samples.size} samples at {audio.sample_rate} Hz, got back "
                    f"{clean.samples.size} at {clean.sample_rate} Hz",
                )
            return clean

        return self._post_audio("/v1/denoise", audio, parse, headers={"Accept": RAW_AUDIO_ACCEPT})

    def open_stream(self, sample_rate: int) -> DenoiseStream:
        raise EngineUnavailable(
            f"engine {self.name!r} denoises on provider servers, whole clips only; live "
            "streams need a denoiser that runs here, such as the built-in deepfilternet",
            backend=self.name,
        )


class ProviderEmbedder(ProviderClient):
    """Speaker embeddings from provider servers' ``POST /v1/embed`` (``kind = "embed"``).

    Vectors from different models cannot be compared: give ``model`` the embedder the servers
    run (their ``/v1/embed`` replies name it) so the engine's version says what it is.
    """

    def embed(self, audio: Audio) -> FloatArray:
        return self._post_audio("/v1/embed", audio, self._embedding)

    def _embedding(self, reply: Reply) -> FloatArray:
        return embedding_from_json(reply.json(engine=self.name), engine=self.name)
