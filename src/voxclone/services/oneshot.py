"""One-shot cloning without a stored voice.

The GPT-SoVITS proxy's ``POST /api/v1/voice/synthesize``: reference clip and text in, audio out.

A clip's voice prompt is kept in memory, by the caller's key, the engine's name and version and
the clip's SHA-256, so the same clip again costs no fit (nor even a decode). Where the prompt is
a slow fit (Kokoro's, up to ~45 s) the request waits for it at most ``oneshot_fit_wait_s``, then
speaks with the engine's quick prompt (the nearest stock voice at the speaker's pitch) while the
fit goes on in the background; a call with the same clip after it lands gets the fitted voice.
``X-Voice-Prompt`` says which a response used: ``fitted``, ``cached`` or ``nearest``. The cache
is per key so that one tenant cannot learn from a response's speed that another used a clip.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from voxclone.audio import check_duration, decode_audio
from voxclone.config import LimitSettings
from voxclone.core.errors import AudioTooLarge, EngineError, VoxcloneError
from voxclone.core.types import Audio
from voxclone.engines.base import QuickPromptEngine, SynthesisParams, TTSEngine, VoicePrompt
from voxclone.engines.registry import EngineRegistry
from voxclone.services.keys import Principal
from voxclone.services.prompt_cache import PromptCache
from voxclone.services.synthesis import SynthesisService
from voxclone.services.synthesis.admit import key_id_of
from voxclone.services.synthesis_request import SynthesizedAudio
from voxclone.services.voices import check_language

log = logging.getLogger(__name__)

ClipKey = tuple[str, str, str, str]
"""The caller's key id, the engine's name and version, the clip's SHA-256."""

MAX_BACKGROUND_FITS = 4
"""Fits that may be running or waiting in the background at once; past it a request speaks
with the quick prompt and fits nothing."""


@dataclass(frozen=True, slots=True)
class OneShotAudio:
    audio: SynthesizedAudio
    prompt: str
    """Which prompt spoke: ``fitted`` (now), ``cached`` (earlier) or ``nearest`` (quick)."""


class OneShotService:
    def __init__(
        self,
        *,
        engines: EngineRegistry,
        synthesis: SynthesisService,
        limits: LimitSettings,
        default_backend: str,
    ) -> None:
        self._engines = engines
        self._synthesis = synthesis
        self._limits = limits
        self._default_backend = default_backend
        self._prompts: PromptCache[ClipKey] = PromptCache(
            max_entries=max(limits.oneshot_prompt_cache_entries, 1)
        )
        self._fits: dict[ClipKey, asyncio.Task[VoicePrompt]] = {}
        self._fit_slot = asyncio.Semaphore(1)  # background fits take turns: they are CPU-bound

    async def synthesize(
        self,
        *,
        caller: Principal,
        text: str,
        reference: bytes,
        language: str = "auto",
        speed: float = 1.0,
        temperature: float = 0.7,
        backend: str | None = None,
    ) -> OneShotAudio:
        started = time.perf_counter()
        text = self._synthesis.check_text(text)
        if len(reference) > self._limits.max_oneshot_reference_bytes:
            raise AudioTooLarge(
                f"reference_audio is {len(reference)} bytes; at most "
                f"{self._limits.max_oneshot_reference_bytes} are allowed",
                size=len(reference),
                max_bytes=self._limits.max_oneshot_reference_bytes,
            )
        engine = self._engines.get_tts(backend or self._default_backend)
        languages = engine.capabilities().languages
        lang = language
        if language == "auto":
            lang = "en" if "en" in languages else sorted(languages)[0]
        check_language(engine, lang)
        params = SynthesisParams(language=lang, speed=speed, temperature=temperature)
        clip = (
            key_id_of(caller),
            engine.name,
            engine.version,
            hashlib.sha256(reference).hexdigest(),
        )
        prompt = self._prompts.get(clip) if self._limits.oneshot_prompt_cache_entries else None
        source = "cached"
        if prompt is None:
            decoded = decode_audio(reference, max_seconds=self._limits.max_reference_seconds)
            check_duration(
                decoded.audio,
                min_s=self._limits.min_reference_seconds,
                max_s=self._limits.max_reference_seconds,
            )
            prompt, source = await self._prompt(clip, engine, decoded.audio)
        audio = await self._synthesis.oneshot(
            caller=caller, engine=engine, text=text, prompt=prompt, params=params, started=started
        )
        return OneShotAudio(audio=audio, prompt=source)

    async def _prompt(
        self, clip: ClipKey, engine: TTSEngine, reference: Audio
    ) -> tuple[VoicePrompt, str]:
        if not isinstance(engine, QuickPromptEngine):
            prompt = await _engine_call(engine, engine.create_voice_prompt, reference, None)
            self._keep(clip, prompt)
            return prompt, "fitted"
        fit = self._fits.get(clip)
        if fit is None and len(self._fits) < MAX_BACKGROUND_FITS:
            fit = asyncio.create_task(self._fit(clip, engine, reference))
            self._fits[clip] = fit
            fit.add_done_callback(lambda task: self._fitted(clip, task))
        if fit is not None:
            done, _ = await asyncio.wait({fit}, timeout=self._limits.oneshot_fit_wait_s)
            if fit in done:
                return fit.result(), "fitted"  # the fit's own error, if it failed
        return await _engine_call(engine, engine.quick_voice_prompt, reference), "nearest"

    async def _fit(self, clip: ClipKey, engine: TTSEngine, reference: Audio) -> VoicePrompt:
        """Fit in turn with the other background fits; the prompt is kept once it lands."""
        async with self._fit_slot:
            try:
                prompt = await _engine_call(engine, engine.create_voice_prompt, reference, None)
            except VoxcloneError as exc:
                log.info("one-shot fit on %s failed: %s", engine.name, exc.message)
                raise
        self._keep(clip, prompt)
        return prompt

    def _fitted(self, clip: ClipKey, task: asyncio.Task[VoicePrompt]) -> None:
        self._fits.pop(clip, None)
        if not task.cancelled():
            task.exception()  # retrieved: a failed background fit was logged in _fit

    def _keep(self, clip: ClipKey, prompt: VoicePrompt) -> None:
        if self._limits.oneshot_prompt_cache_entries:
            self._prompts.put(clip, prompt)


async def _engine_call(engine: TTSEngine, call: Any, *args: Any) -> VoicePrompt:
    """``call(*args)`` on a worker thread, an engine's unexpected failure as ``EngineError``."""
    try:
        prompt: VoicePrompt = await asyncio.to_thread(call, *args)
    except VoxcloneError:
        raise
    except Exception as exc:
        raise EngineError(f"backend {engine.name!r} failed: {exc}", backend=engine.name) from exc
    return prompt
