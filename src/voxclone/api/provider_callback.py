"""``voxclone provider serve --callback``: the provider server as a serverless-style worker.

``POST /v1/trigger`` takes a job from a gateway's ``callback`` engine (the body that
``voxclone.engines.remote.callback`` documents), checks it, answers 202 at once, and renders it
in the background with the server's TTS engine. The voice is cloned from the trigger's
reference clip (``voice_prompt.ref_audio_b64``, or afterwords' top-level ``ref_audio_b64``)
when it carries one; any other ``voice_prompt`` goes to the engine as it is. The result goes
to the job's ``callback_url`` as ``{"job_id", "voice_id", "cache_key", "wav_b64", "error"}``
with ``Authorization: Bearer <callback_secret>``; a delivery that fails to connect, or gets a
5xx, 408 or 429, is retried with back-off (``retries`` times).

The callback URL comes from the trigger, so a trigger makes this server POST to an address of
the caller's choosing: put the server behind an API key (``--api-key``) when others can reach it.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from voxclone.audio import concat_with_crossfade, decode_audio, encode_audio
from voxclone.config import LimitSettings
from voxclone.core.errors import (
    EngineError,
    InvalidAudio,
    InvalidText,
    MissingField,
    UnsupportedLanguage,
    VoxcloneError,
)
from voxclone.core.types import Audio
from voxclone.engines.base import SynthesisParams, TTSEngine, VoicePrompt

log = logging.getLogger(__name__)

Run = Callable[[str, Callable[[], Any]], Awaitable[Any]]
"""The provider's way to run engine work: ``run(engine_name, work)`` off the event loop,
within its concurrency limit."""


class TriggerParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    speed: float = Field(1.0, gt=0.0, le=4.0)
    seed: int | None = None
    temperature: float | None = Field(None, ge=0.0)


class TriggerBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1, max_length=100)
    voice_id: str | None = None
    text: str
    language: str | None = None
    lang: str | None = Field(None, description="afterwords' name for language.")
    params: TriggerParams = Field(default_factory=TriggerParams)
    voice_prompt: dict[str, Any] | None = None
    ref_audio_b64: str | None = None
    ref_text: str | None = None
    cache_key: str | None = None
    callback_url: str = Field(pattern=r"^https?://")
    callback_secret: str = Field(min_length=1)


class CallbackWorker:
    """Renders triggered jobs in the background and delivers them to their callback URLs."""

    def __init__(
        self,
        *,
        engine: TTSEngine,
        limits: LimitSettings,
        run: Run,
        retries: int = 4,
        backoff_s: float = 0.5,
        timeout_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._engine = engine
        self._limits = limits
        self._run = run
        self._retries = retries
        self._backoff_s = backoff_s
        self._client = httpx.AsyncClient(
            timeout=timeout_s, transport=transport, follow_redirects=False, trust_env=False
        )
        self._tasks: set[asyncio.Task[None]] = set()

    def accept(self, body: TriggerBody) -> dict[str, Any]:
        """Check the job and start it; what ``POST /v1/trigger`` answers (202)."""
        if not body.text.strip():
            raise MissingField("text is required and must not be empty", field="text")
        if len(body.text) > self._limits.max_text_chars:
            raise InvalidText(
                f"text is {len(body.text)} characters long; at most {self._limits.max_text_chars}",
                length=len(body.text),
            )
        language = body.language or body.lang or "en"
        languages = self._engine.capabilities().languages
        if language not in languages:
            raise UnsupportedLanguage(
                f"engine {self._engine.name!r} does not speak {language!r}; "
                f"supported: {', '.join(sorted(languages))}",
                language=language,
                supported=sorted(languages),
            )
        params = SynthesisParams(
            language=language,
            speed=body.params.speed,
            temperature=body.params.temperature,
            seed=body.params.seed,
        )
        task = asyncio.create_task(self._work(body, params), name=f"callback-job-{body.job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"job_id": body.job_id, "status": "accepted"}

    async def close(self) -> None:
        """Stop the jobs still in progress (their gateways time them out) and the client."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()

    async def _work(self, body: TriggerBody, params: SynthesisParams) -> None:
        result: dict[str, Any] = {
            "job_id": body.job_id,
            "voice_id": body.voice_id,
            "cache_key": body.cache_key,
            "wav_b64": None,
            "error": None,
        }
        try:
            wav = await self._run(self._engine.name, lambda: self._render(body, params))
            result["wav_b64"] = binascii.b2a_base64(wav, newline=False).decode("ascii")
        except VoxcloneError as exc:
            result["error"] = exc.message
        except Exception as exc:  # never leave a job without an answer
            log.exception("job %s: rendering failed", body.job_id)
            result["error"] = f"internal error: {type(exc).__name__}"
        await self._deliver(body, result)

    def _render(self, body: TriggerBody, params: SynthesisParams) -> bytes:
        prompt = self._prompt(body)
        chunks = list(self._engine.synthesize(body.text, prompt, params))
        if not chunks:
            raise EngineError(f"engine {self._engine.name!r} produced no audio")
        audio: Audio = concat_with_crossfade(chunks)
        return encode_audio(audio, "wav")

    def _prompt(self, body: TriggerBody) -> VoicePrompt:
        """The engine's prompt: cloned from the trigger's reference clip when it has one."""
        given = dict(body.voice_prompt or {})
        reference = given.get("ref_audio_b64") or body.ref_audio_b64
        if not reference:
            return given
        try:
            data = binascii.a2b_base64(str(reference).encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise InvalidAudio(f"ref_audio_b64 is not base64 ({exc})") from exc
        clip = decode_audio(data, max_seconds=self._limits.max_reference_seconds).audio
        transcript = given.get("ref_text") or body.ref_text or None
        return self._engine.create_voice_prompt(clip, transcript)

    async def _deliver(self, body: TriggerBody, result: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {body.callback_secret}"}
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                reply = await self._client.post(body.callback_url, json=result, headers=headers)
            except httpx.HTTPError as exc:
                log.warning("job %s: delivery failed (%s); retrying", body.job_id, exc)
                continue
            if reply.status_code < 400:
                return
            if reply.status_code < 500 and reply.status_code not in (408, 429):
                log.warning(
                    "job %s: the gateway refused the completion (%d): %s",
                    body.job_id,
                    reply.status_code,
                    reply.text[:300],
                )
                return
            log.warning("job %s: the gateway answered %d; retrying", body.job_id, reply.status_code)
        log.error("job %s: could not deliver the result to its callback URL", body.job_id)
