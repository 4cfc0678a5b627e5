"""Text to speech: ``synthesize`` (a job when the cache misses, waited for), ``submit`` (the
raw 200-or-202 answer), ``text_to_speech`` (synchronous) and ``stream`` (audio as each
sentence is synthesized)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

from voxclone.client import calls as c
from voxclone.client import jobs
from voxclone.client.calls import Call, Op
from voxclone.client.models import Audio, JobQueued
from voxclone.client.resource import AsyncResource, SyncResource, async_op, sync_op


def submit(
    voice_id: str,
    text: str,
    *,
    format: str | None = None,
    lang: str | None = None,
    backend: str | None = None,
    sample_rate: int | None = None,
    speed: float | None = None,
    seed: int | None = None,
    callback_url: str | None = None,
) -> Op[Audio | JobQueued]:
    """``POST /v1/synthesize``: the audio on a cache hit, else the queued job."""
    body = {
        "voice_id": voice_id,
        "text": text,
        "format": format,
        "lang": lang,
        "backend": backend,
        "sample_rate": sample_rate,
        "speed": speed,
        "seed": seed,
        "callback_url": callback_url,
    }
    json = {k: v for k, v in body.items() if v is not None}
    response = yield from c.send(Call("POST", "/v1/synthesize", json=json))
    if response.status_code == 202:
        return JobQueued.model_validate(response.json())
    return Audio.of(response)


def synthesize(
    voice_id: str,
    text: str,
    *,
    format: str | None = None,
    lang: str | None = None,
    backend: str | None = None,
    sample_rate: int | None = None,
    speed: float | None = None,
    seed: int | None = None,
    timeout: float = 600.0,
    on_progress: Callable[[float], None] | None = None,
) -> Op[Audio]:
    """The audio, from the cache or from the job it queued (waited for, then downloaded)."""
    outcome = yield from submit(
        voice_id,
        text,
        format=format,
        lang=lang,
        backend=backend,
        sample_rate=sample_rate,
        speed=speed,
        seed=seed,
    )
    if isinstance(outcome, Audio):
        if on_progress is not None:
            on_progress(1.0)
        return outcome
    return (yield from jobs.result_audio(outcome.job_id, timeout=timeout, on_progress=on_progress))


def _tts_call(
    voice_id: str,
    text: str,
    *,
    stream: bool,
    output_format: str | None,
    model_id: str | None,
    language_code: str | None,
    speed: float | None,
    seed: int | None,
) -> Call:
    body: dict[str, Any] = {"text": text}
    if model_id is not None:
        body["model_id"] = model_id
    if language_code is not None:
        body["language_code"] = language_code
    if speed is not None:
        body["voice_settings"] = {"speed": speed}
    if seed is not None:
        body["seed"] = seed
    path = f"/v1/text-to-speech/{voice_id}" + ("/stream" if stream else "")
    return Call("POST", path, params={"output_format": output_format}, json=body)


def text_to_speech(
    voice_id: str,
    text: str,
    *,
    output_format: str | None = None,
    model_id: str | None = None,
    language_code: str | None = None,
    speed: float | None = None,
    seed: int | None = None,
) -> Op[Audio]:
    """Synchronous synthesis: the whole audio in the response (``output_format`` such as
    ``wav``, ``mp3_44100_128``, ``pcm_16000``; ``model_id`` is a backend name)."""
    call = _tts_call(
        voice_id,
        text,
        stream=False,
        output_format=output_format,
        model_id=model_id,
        language_code=language_code,
        speed=speed,
        seed=seed,
    )
    response = yield from c.send(call)
    return Audio.of(response)


class AudioStream:
    """Streamed audio: its headers now, its bytes as they are synthesized."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.headers = response.headers
        self.content_type = str(response.headers.get("content-type", "")).split(";")[0]

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        yield from self.response.iter_bytes(chunk_size)

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        async for chunk in self.response.aiter_bytes(chunk_size):
            yield chunk


class Synthesis(SyncResource):
    submit = sync_op(submit)
    synthesize = sync_op(synthesize)
    text_to_speech = sync_op(text_to_speech)

    @contextmanager
    def stream(
        self,
        voice_id: str,
        text: str,
        *,
        output_format: str = "mp3",
        model_id: str | None = None,
        language_code: str | None = None,
        speed: float | None = None,
        seed: int | None = None,
    ) -> Iterator[AudioStream]:
        """``with client.synthesis.stream(voice, text) as audio: for chunk in
        audio.iter_bytes(): ...`` (``mp3``, ``wav`` or ``pcm``)."""
        call = _tts_call(
            voice_id,
            text,
            stream=True,
            output_format=output_format,
            model_id=model_id,
            language_code=language_code,
            speed=speed,
            seed=seed,
        )
        with self._transport.stream(call) as response:
            yield AudioStream(response)


class AsyncSynthesis(AsyncResource):
    submit = async_op(submit)
    synthesize = async_op(synthesize)
    text_to_speech = async_op(text_to_speech)

    @asynccontextmanager
    async def stream(
        self,
        voice_id: str,
        text: str,
        *,
        output_format: str = "mp3",
        model_id: str | None = None,
        language_code: str | None = None,
        speed: float | None = None,
        seed: int | None = None,
    ) -> AsyncIterator[AudioStream]:
        """``async with client.synthesis.stream(voice, text) as audio: async for chunk in
        audio.aiter_bytes(): ...``"""
        call = _tts_call(
            voice_id,
            text,
            stream=True,
            output_format=output_format,
            model_id=model_id,
            language_code=language_code,
            speed=speed,
            seed=seed,
        )
        async with self._transport.stream(call) as response:
            yield AudioStream(response)
