"""GPT-SoVITS servers, through either of the two HTTP APIs in use.

- ``api = "v2"``: GPT-SoVITS's own ``api_v2.py``: ``POST /tts`` with JSON (``text``,
  ``text_lang``, ``ref_audio_path``, ``prompt_text``, ``prompt_lang``, ``media_type``,
  ``streaming_mode``, ``speed_factor``, ``seed``, ...). It answers WAV, or 400 with
  ``{"message", "Exception"}``. It reads the reference clip from *its own disk*
  (``ref_audio_path``) and has no upload endpoint: this is the classic complaint.
  voxclone writes each voice's clip into ``ref_dir``, a directory the GPT-SoVITS host also sees
  (same machine, a bind mount or a network share), under a name made from the clip's SHA-256,
  and sends the path as GPT-SoVITS sees it (``remote_ref_dir``). The clip also travels inside
  the voice prompt, so a missing file (a cleaned directory, a new box) is written again before
  the request instead of failing it.
- ``api = "synthesize"``: the ``POST /synthesize`` multipart call of the GPT-SoVITS proxy
  document (``reference_audio`` file, ``text``, ``language``, ``speed``, ``temperature``). That
  API has no notion of a stored voice, so the clip is uploaded with every request.

GPT-SoVITS refuses reference clips outside 3–10 s, so the prompt keeps the first
``max_reference_s`` seconds of the voice's reference.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import httpx
import numpy as np

from voxclone.core.errors import EngineUnavailable, InvalidInput, ProviderError
from voxclone.core.types import Audio
from voxclone.engines.base import ProgressCallback, SynthesisParams, TTSCapabilities, VoicePrompt
from voxclone.engines.remote.pool import PooledEngine, build_pool, probe_status_json
from voxclone.engines.remote.wire import (
    EndpointFault,
    Reply,
    check_status,
    error_text,
    fetch,
    wav_upload,
)

V2_LANGUAGES = ("zh", "en", "ja", "ko", "yue")
PROXY_LANGUAGES = ("zh", "en", "ja")


def _probe_v2(client: httpx.Client, base_url: str, timeout_s: float) -> None:
    """api_v2 has no health endpoint; an empty ``POST /tts`` is answered 400 by a live server
    ("ref_audio_path is required") without running the model."""
    response = client.post(f"{base_url}/tts", json={}, timeout=timeout_s)
    if response.status_code >= 500:
        raise ValueError(f"POST /tts answered {response.status_code}")


class GPTSoVITSEngine(PooledEngine):
    """Voice cloning on GPT-SoVITS servers (``type = "gpt-sovits"``)."""

    def __init__(
        self,
        name: str,
        urls: Sequence[str | Mapping[str, Any]],
        api: Literal["v2", "synthesize"] = "v2",
        api_key: str | None = None,
        policy: Mapping[str, Any] | None = None,
        model: str = "gpt-sovits",
        languages: Sequence[str] | None = None,
        sample_rate: int = 32000,
        ref_dir: str | Path | None = None,
        remote_ref_dir: str | None = None,
        prompt_lang: str | None = None,
        max_reference_s: float = 10.0,
        temperature: float | None = None,
        params: Mapping[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if api not in ("v2", "synthesize"):
            raise EngineUnavailable(
                f"engine {name!r}: api must be 'v2' (api_v2.py /tts) or 'synthesize' "
                f"(the proxy's /synthesize), got {api!r}",
                backend=name,
            )
        if api == "v2" and ref_dir is None:
            raise EngineUnavailable(
                f"engine {name!r}: GPT-SoVITS api_v2 reads reference clips from its own disk; "
                "set ref_dir to a directory it can read too (and remote_ref_dir to that "
                "directory's path on the GPT-SoVITS host, if it differs)",
                backend=name,
            )
        if not 3.0 <= max_reference_s <= 10.0:
            raise EngineUnavailable(
                f"engine {name!r}: max_reference_s must be within 3–10 s (GPT-SoVITS refuses "
                f"other lengths), got {max_reference_s}",
                backend=name,
            )
        probe = _probe_v2 if api == "v2" else probe_status_json("/health")
        headers = {"X-API-Key": api_key} if api_key else {}
        pool = build_pool(
            name, urls, policy=policy, probe=probe, headers=headers, transport=transport
        )
        super().__init__(name, pool)
        self.api = api
        self.version = f"gpt-sovits-{api}:{model}"
        self._ref_dir = Path(ref_dir) if ref_dir is not None else None
        self._remote_ref_dir = remote_ref_dir or (str(self._ref_dir) if self._ref_dir else None)
        self._prompt_lang = prompt_lang
        self._max_reference_s = max_reference_s
        self._temperature = temperature
        self._params = dict(params or {})
        default = V2_LANGUAGES if api == "v2" else PROXY_LANGUAGES
        self._capabilities = TTSCapabilities(
            languages=frozenset(languages or default),
            sample_rate=sample_rate,
            streaming=False,
            cloning=True,
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
        """The clip (its first ``max_reference_s`` seconds, 16-bit WAV) and its transcript.

        Only the transcript of the whole clip is known, so it is kept only when the clip was
        not cut (GPT-SoVITS then runs without a prompt text, which it supports).
        """
        keep = round(self._max_reference_s * reference.sample_rate)
        cut = len(reference.samples) > keep
        excerpt = Audio(np.ascontiguousarray(reference.samples[:keep]), reference.sample_rate)
        wav = wav_upload(excerpt)
        prompt: VoicePrompt = {
            "engine": "gpt-sovits",
            "reference_wav": base64.b64encode(wav).decode("ascii"),
            "sha256": hashlib.sha256(wav).hexdigest(),
            "prompt_text": "" if cut else (transcript or ""),
        }
        if self.api == "v2":
            self._materialize(prompt)
        if progress is not None:
            progress(1.0)
        return prompt

    def synthesize(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[Audio]:
        wav = _reference(prompt, engine=self.name)
        if self.api == "v2":
            return self._tts_v2(text, prompt, params)
        return self._synthesize_proxy(text, wav, params)

    # --- api_v2 /tts ---------------------------------------------------------------------------

    def _materialize(self, prompt: VoicePrompt) -> str:
        """Write the prompt's clip into ``ref_dir`` if it is not there; its path for GPT-SoVITS.

        The file name is the SHA-256 of the clip, never anything a client chose.
        """
        assert self._ref_dir is not None and self._remote_ref_dir is not None
        digest = str(prompt.get("sha256", ""))
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ProviderError(f"the voice prompt of {self.name!r} is damaged (no sha256)")
        filename = f"voxclone-{digest}.wav"
        local = self._ref_dir / filename
        if not local.is_file():
            data = base64.b64decode(prompt["reference_wav"])
            if hashlib.sha256(data).hexdigest() != digest:
                raise ProviderError(f"the voice prompt of {self.name!r} is damaged (sha256)")
            try:
                self._ref_dir.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=self._ref_dir, prefix=".voxclone-", suffix=".tmp")
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.chmod(tmp, 0o644)  # GPT-SoVITS may run as another user
                os.replace(tmp, local)
            except OSError as exc:
                raise EngineUnavailable(
                    f"engine {self.name!r} cannot write the reference clip into "
                    f"{str(self._ref_dir)!r}: {exc}",
                    backend=self.name,
                ) from exc
        return str(PurePosixPath(self._remote_ref_dir) / filename)

    def _tts_v2(self, text: str, prompt: VoicePrompt, params: SynthesisParams) -> Iterator[Audio]:
        body: dict[str, Any] = {
            "text": text,
            "text_lang": params.language.lower(),
            "ref_audio_path": self._materialize(prompt),
            "prompt_text": prompt.get("prompt_text") or "",
            "prompt_lang": (self._prompt_lang or params.language).lower(),
            "media_type": "wav",
            "streaming_mode": False,
            "speed_factor": params.speed,
            "seed": params.seed if params.seed is not None else -1,
            **self._params,
        }
        temperature = params.temperature if params.temperature is not None else self._temperature
        if temperature is not None:
            body["temperature"] = temperature
        limit = self.policy.max_response_bytes

        def attempt(client: httpx.Client, base_url: str) -> Audio:
            reply = fetch(
                client, "POST", f"{base_url}/tts", engine=self.name, max_bytes=limit, json=body
            )
            if reply.status_code == 400 and _inference_failed(reply):
                raise EndpointFault(
                    ProviderError(
                        f"backend {self.name!r} failed: {error_text(reply)}",
                        backend=self.name,
                        provider_status=400,
                    ),
                    eject=False,
                    retry=True,
                )
            check_status(reply, engine=self.name, url=base_url)
            return self._audio_file(reply)

        yield self._pool.call(attempt)

    # --- the proxy document's /synthesize ------------------------------------------------------

    def _synthesize_proxy(self, text: str, wav: bytes, params: SynthesisParams) -> Iterator[Audio]:
        language = params.language.lower()
        temperature = params.temperature if params.temperature is not None else self._temperature
        fields = {
            "text": text,
            "language": language if language in PROXY_LANGUAGES else "auto",
            "speed": str(params.speed),
            "temperature": str(temperature if temperature is not None else 0.7),
        }

        yield self.post(
            "/synthesize",
            self._audio_file,
            files={"reference_audio": ("reference.wav", wav, "audio/wav")},
            data=fields,
        )


def _reference(prompt: VoicePrompt, *, engine: str) -> bytes:
    encoded = prompt.get("reference_wav")
    if not isinstance(encoded, str):
        raise InvalidInput(
            f"this voice has no GPT-SoVITS prompt for backend {engine!r}; create it again",
            backend=engine,
        )
    return base64.b64decode(encoded)


def _inference_failed(reply: Reply) -> bool:
    """api_v2 reports a failure of the model itself as 400 ``{"message": "tts failed"}``."""
    try:
        body = reply.json(engine="gpt-sovits")
    except EndpointFault:
        return False
    return isinstance(body, dict) and body.get("message") == "tts failed"
