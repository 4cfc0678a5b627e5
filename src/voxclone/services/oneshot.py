"""One-shot cloning without a stored voice.

The GPT-SoVITS proxy's ``POST /api/v1/voice/synthesize``: reference clip and text in, audio out.
"""

from __future__ import annotations

import asyncio
import time

from voxclone.audio import check_duration, decode_audio
from voxclone.config import LimitSettings
from voxclone.core.errors import AudioTooLarge, EngineError, VoxcloneError
from voxclone.engines.base import SynthesisParams
from voxclone.engines.registry import EngineRegistry
from voxclone.services.keys import Principal
from voxclone.services.synthesis import SynthesisService
from voxclone.services.synthesis_request import SynthesizedAudio
from voxclone.services.voices import check_language


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
    ) -> SynthesizedAudio:
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
        decoded = decode_audio(reference, max_seconds=self._limits.max_reference_seconds)
        check_duration(
            decoded.audio,
            min_s=self._limits.min_reference_seconds,
            max_s=self._limits.max_reference_seconds,
        )
        params = SynthesisParams(language=lang, speed=speed, temperature=temperature)
        try:
            prompt = await asyncio.to_thread(engine.create_voice_prompt, decoded.audio, None)
        except VoxcloneError:
            raise
        except Exception as exc:
            raise EngineError(
                f"backend {engine.name!r} failed: {exc}", backend=engine.name
            ) from exc
        return await self._synthesis.oneshot(
            caller=caller, engine=engine, text=text, prompt=prompt, params=params, started=started
        )
