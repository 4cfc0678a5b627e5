"""Plan: what a synthesis request means before anything runs — its text checked, the key's
voice ready, the engine and language resolved, the cache key computed.

The request's data is built in one place: ``job_params`` writes a plan into a job row and
``job_request`` reads it back, so a job renders exactly what was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxclone.audio import SUPPORTED_OUTPUT_FORMATS
from voxclone.config import ConsentSettings, LimitSettings
from voxclone.core.errors import (
    InvalidInput,
    InvalidText,
    MissingField,
    NothingToSpeak,
    OutputTooLong,
    UnknownModel,
    UnsupportedFormat,
)
from voxclone.db.tables import Job, Voice
from voxclone.engines import markup
from voxclone.engines.base import SynthesisParams, TTSEngine
from voxclone.engines.registry import EngineRegistry
from voxclone.services.consent_policy import check_consent
from voxclone.services.language_detect import AUTO, detect_language
from voxclone.services.stock_voices import StockVoice
from voxclone.services.synthesis.route import Router
from voxclone.services.synthesis_request import (
    MAX_SAMPLE_RATE,
    MAX_SPEED,
    MIN_SAMPLE_RATE,
    MIN_SPEED,
    OPENAI_TTS_MODELS,
    SynthesisRequest,
    cache_key,
)
from voxclone.services.voices import VoiceService, check_language, check_ready

KOKORO_FASTAPI_MODEL = "kokoro"
"""Kokoro-FastAPI's model name; unlisted, it means the voice's own backend (as ``tts-1``)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """One synthesis, resolved: the voice, the engine that will serve it, and its cache key."""

    request: SynthesisRequest
    voice: Voice | StockVoice
    engine: TTSEngine
    lang: str
    params: SynthesisParams
    text: str
    key: str

    @property
    def fmt(self) -> str:
        return self.request.format

    @property
    def sample_rate(self) -> int | None:
        return self.request.sample_rate


class Planner:
    def __init__(
        self,
        *,
        voices: VoiceService,
        engines: EngineRegistry,
        router: Router,
        limits: LimitSettings,
        consent: ConsentSettings | None = None,
        confirm_voices: bool = False,
    ) -> None:
        self._voices = voices
        self._confirm_voices = confirm_voices
        self._engines = engines
        self._router = router
        self._limits = limits
        self._consent = consent

    def check_text(self, text: str | None, *, field: str = "text") -> str:
        """``text`` if it holds 1 to ``max_text_chars`` characters, all of them encodable, and
        something to say (a letter or digit in any script); errors name ``field``."""
        if text is None or not text.strip():
            raise MissingField(f"{field} is required and must not be empty", field=field)
        surrogate = next((i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff"), None)
        if surrogate is not None:
            raise InvalidText(
                f"{field} holds a lone UTF-16 surrogate (U+{ord(text[surrogate]):04X}) at "
                f"character {surrogate}, which is not text",
                field=field,
                position=surrogate,
            )
        if len(text) > self._limits.max_text_chars:
            raise InvalidText(
                f"{field} is {len(text)} characters long; at most "
                f"{self._limits.max_text_chars} are allowed",
                field=field,
                length=len(text),
                max_chars=self._limits.max_text_chars,
            )
        if not speakable(text):
            raise NothingToSpeak(
                f"{field} has nothing to speak: no letter or digit in any script",
                field=field,
            )
        return text

    def backend_for_model(self, model: str) -> str | None:
        """The TTS engine an OpenAI-style ``model`` means: OpenAI's names (``tts-1``…) mean
        None, the voice's own backend; otherwise ``model`` must name a TTS engine."""
        name = model.strip()
        if not name:
            raise MissingField("model is required and must not be empty", field="model")
        if name in OPENAI_TTS_MODELS:
            return None
        if name == KOKORO_FASTAPI_MODEL and name not in self._engines.names("tts"):
            return None  # Kokoro-FastAPI's clients send model "kokoro": the voice's backend
        if name not in self._engines.names("tts"):
            known = [*OPENAI_TTS_MODELS, *self._engines.names("tts")]
            raise UnknownModel(
                f"unknown text-to-speech model {name!r}; known: {', '.join(known)}",
                model=name,
                known=known,
            )
        return name

    async def check(
        self, *, key_id: str, req: SynthesisRequest, text: str | None = None
    ) -> tuple[Voice | StockVoice, TTSEngine, str]:
        """Everything synthesizing ``req`` checks but its text (the format, speed and rate, the
        key's voice or a stock voice, and that it is ready, the engine, the language), so that a
        stream of text still to come can be refused up front. Returns the voice, the engine and
        the language (``auto``: ``text``'s, else the voice's)."""
        if req.format not in SUPPORTED_OUTPUT_FORMATS:
            raise UnsupportedFormat(
                f"format {req.format!r} is not supported; use one of "
                f"{', '.join(SUPPORTED_OUTPUT_FORMATS)}",
                format=req.format,
            )
        if not MIN_SPEED <= req.speed <= MAX_SPEED:
            raise InvalidInput(
                f"speed {req.speed} is outside {MIN_SPEED}–{MAX_SPEED}", field="speed"
            )
        if req.sample_rate is not None and not (
            MIN_SAMPLE_RATE <= req.sample_rate <= MAX_SAMPLE_RATE
        ):
            raise InvalidInput(
                f"sample_rate {req.sample_rate} is outside {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE}",
                field="sample_rate",
            )
        voice = await self._voices.resolve_cached(key_id=key_id, voice=req.voice_id)
        if isinstance(voice, StockVoice):
            check_stock_backend(voice, req.backend)
        else:
            check_ready(voice)
            check_consent(voice, self._consent)
        engine = self._router.resolve(req.backend or voice.backend)
        lang = req.lang or voice.lang
        if lang.strip().lower() == AUTO:
            languages = engine.capabilities().languages
            lang = detect_language(text or "", languages=languages, default=voice.lang)
        check_language(engine, lang)
        return voice, engine, lang

    async def plan(self, *, key_id: str, req: SynthesisRequest) -> Plan:
        text = self.check_text(req.text)
        voice, engine, lang = await self.check(key_id=key_id, req=req, text=text)
        markup.check(text, engine)
        plan = _planned(req, voice, engine, lang, text)
        self.check_output(len(text), plan.params.speed)
        return plan

    async def confirm(self, plan: Plan) -> None:
        """Before a miss is rendered and cached: the plan's voice, read again from the database
        (``plan`` read it from memory), so that audio is never made and kept for a voice that
        another process deleted or changed moments ago (NotFound, Conflict). Only where other
        processes may write voices (``confirm_voices``): this process's writes are seen at once
        (services/state_cache.py), and the read costs a gateway request a database round trip."""
        if self._confirm_voices and isinstance(plan.voice, Voice):
            voice = await self._voices.resolve(key_id=plan.voice.key_id, voice=plan.voice.id)
            assert isinstance(voice, Voice)
            check_ready(voice)

    def check_output(self, characters: int, speed: float) -> None:
        """Refuse up front a text that, read at ``speed``, would clearly make more audio than
        one request may (the renderer stops one that does anyway)."""
        limit = self._limits.max_output_audio_s
        estimate = characters / (self._limits.estimate_chars_per_s * max(speed, 1e-3))
        if estimate > limit:
            raise OutputTooLong(
                f"{characters} characters at speed {speed:g} make about {estimate:.0f} s of "
                f"audio; one request may make at most {limit:g} s "
                "(limits.max_output_audio_s): split the text or raise the speed",
                estimate_s=round(estimate),
                limit_s=limit,
            )

    @staticmethod
    def replan(plan: Plan, engine: TTSEngine) -> Plan:
        """The same synthesis on another engine (a fallback): its own cache key."""
        check_language(engine, plan.lang)
        markup.check(plan.text, engine)
        return _planned(plan.request, plan.voice, engine, plan.lang, plan.text)


def speakable(text: str) -> bool:
    """Whether ``text`` holds anything an engine can say (a letter or digit, any script)."""
    return any(ch.isalnum() for ch in text)


def check_stock_backend(voice: StockVoice, backend: str | None) -> None:
    """A stock voice is spoken by its own engine only."""
    if backend is not None and backend != voice.backend:
        raise InvalidInput(
            f"voice {voice.id!r} is a stock voice of backend {voice.backend!r}; it cannot be "
            f"spoken by {backend!r} (leave the backend out, or name {voice.backend!r})",
            field="backend",
            voice_id=voice.id,
            backend=backend,
        )


def _planned(
    req: SynthesisRequest, voice: Voice | StockVoice, engine: TTSEngine, lang: str, text: str
) -> Plan:
    params = req.params(lang)
    # A voice refitted to new samples speaks differently: its new prompt has a new revision.
    revision = (voice.meta or {}).get("prompt_revision")
    key = cache_key(
        voice_id=voice.id,
        text=text,
        lang=lang,
        backend=engine.name,
        params={
            **params.cache_fields(),
            "format": req.format,
            "sample_rate": req.sample_rate,
            **({"prompt_revision": revision} if revision else {}),
        },
        engine_version=engine.version,
    )
    return Plan(req, voice, engine, lang, params, text, key)


def job_params(plan: Plan) -> dict[str, Any]:
    """What a synthesis job's row keeps to render ``plan`` later (``job_request`` reads it)."""
    req = plan.request
    return {
        **({"voice": plan.voice.id} if isinstance(plan.voice, StockVoice) else {}),
        "text": plan.text,
        "lang": plan.lang,
        "backend": plan.engine.name,
        "format": req.format,
        "sample_rate": req.sample_rate,
        "speed": req.speed,
        "seed": req.seed,
        "temperature": req.temperature,
    }


def job_request(job: Job) -> SynthesisRequest:
    """The request a synthesis job was created for (``job_params`` wrote it)."""
    p = job.params
    return SynthesisRequest(
        voice_id=job.voice_id or p.get("voice") or "",
        text=p["text"],
        lang=p["lang"],
        backend=p["backend"],
        format=p["format"],
        sample_rate=p.get("sample_rate"),
        speed=p.get("speed", 1.0),
        seed=p.get("seed"),
        temperature=p.get("temperature"),
    )
