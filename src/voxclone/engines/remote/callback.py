"""Serverless engines: a trigger POST now, the audio in a callback later (``type = "callback"``).

Modal, RunPod or a GPU box behind NAT cannot hold a request open for minutes, and the gateway
cannot always reach them twice. So a job is handed over in one POST (``trigger_path``, by
default ``/v1/trigger``) that is answered at once, and the worker later POSTs the audio (or an
error) to the job's ``callback_url``, presenting the per-job ``callback_secret`` as
``Authorization: Bearer``. The trigger's JSON body::

    {"job_id", "voice_id", "text", "language", "lang", "params": {"speed", "seed",
     "temperature"}, "voice_prompt": {...}, "ref_audio_b64", "ref_text", "cache_key",
     "backend_name", "callback_url", "callback_secret"}

``ref_audio_b64`` (the reference clip as 16-bit WAV) and ``ref_text`` are afterwords' fields;
they are also what ``voice_prompt`` holds, as this engine's voice prompt is the reference
itself: the worker clones from it per job (a serverless worker keeps nothing between jobs).
The completion body is ``{"job_id", "voice_id", "cache_key", "wav_b64" | "audio_b64",
"error"}``. ``voxclone provider serve --callback`` is such a worker.

A trigger goes through the same pool as every remote engine (balancing, retries with back-off,
ejection); any 2xx means the job was accepted. ``synthesize`` refuses with JobsOnlyBackend: a
request that waits for its audio has nothing to wait on here.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from voxclone.core.errors import JobsOnlyBackend
from voxclone.core.types import Audio
from voxclone.engines.base import (
    CallbackTrigger,
    ProgressCallback,
    SynthesisParams,
    TTSCapabilities,
    VoicePrompt,
)
from voxclone.engines.remote.pool import PooledEngine, build_pool, probe_status_json
from voxclone.engines.remote.provider import QWEN3_LANGUAGES
from voxclone.engines.remote.wire import Reply, wav_upload


class CallbackEngine(PooledEngine):
    """Text to speech on serverless workers that call back (``type = "callback"``).

    ``urls`` are where triggers go (several spread the load as for any remote engine);
    ``api_key`` is sent as ``Authorization: Bearer`` and ``X-API-Key`` on triggers. ``model``
    names what the workers run (part of the version, so the cache is renewed when it changes);
    ``languages`` and ``sample_rate`` describe them. ``health_path`` is probed when a URL comes
    back from ejection and by ``GET /v1/engines?probe=true``.
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
        trigger_path: str = "/v1/trigger",
        health_path: str = "/health",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}", "X-API-Key": api_key} if api_key else {}
        pool = build_pool(
            name,
            urls,
            policy=policy,
            probe=probe_status_json(health_path),
            headers=headers,
            transport=transport,
        )
        super().__init__(name, pool)
        self.version = f"callback:{model}"
        self._trigger_path = trigger_path
        self._capabilities = TTSCapabilities(
            languages=frozenset(languages), sample_rate=sample_rate, streaming=False, cloning=True
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
        """The reference clip itself (16-bit WAV, base64) and its transcript: a serverless
        worker keeps nothing, so it clones from the reference on every job."""
        wav = binascii.b2a_base64(wav_upload(reference), newline=False).decode("ascii")
        if progress is not None:
            progress(1.0)
        return {"ref_audio_b64": wav, "ref_text": transcript or ""}

    def synthesize(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[Audio]:
        raise JobsOnlyBackend(
            f"backend {self.name!r} renders on serverless workers that call back when done; "
            "it serves jobs only: use POST /v1/synthesize and poll GET /v1/jobs/{job_id}",
            backend=self.name,
        )

    def trigger(self, job: CallbackTrigger) -> None:
        """Hand ``job`` to a worker; returns once one accepted it (any 2xx)."""
        self.post(self._trigger_path, _accepted, json=trigger_payload(self.name, job))


def trigger_payload(backend: str, job: CallbackTrigger) -> dict[str, Any]:
    """The trigger's JSON body (see the module's docstring)."""
    return {
        "job_id": job.job_id,
        "voice_id": job.voice_id,
        "text": job.text,
        "language": job.params.language,
        "lang": job.params.language,
        "params": {
            "speed": job.params.speed,
            "seed": job.params.seed,
            "temperature": job.params.temperature,
        },
        "voice_prompt": job.prompt,
        "ref_audio_b64": job.prompt.get("ref_audio_b64"),
        "ref_text": job.prompt.get("ref_text"),
        "cache_key": job.cache_key,
        "backend_name": backend,
        "callback_url": job.callback_url,
        "callback_secret": job.callback_secret,
    }


def _accepted(reply: Reply) -> None:
    """Any 2xx (``check_status`` ran first): the worker has the job."""
