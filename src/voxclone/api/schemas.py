"""Request and response bodies of the HTTP API (separate from the database tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from voxclone.api.pronunciation_schemas import LOCATORS_DESCRIPTION, PronunciationLocator
from voxclone.db.tables import ApiKey, Job, Speaker, SpeakerEnrollment, Voice
from voxclone.services.synthesis_request import MAX_SPEED, MIN_SPEED

INT32_MAX = 2**31 - 1
"""The largest value an INTEGER column holds on every database voxclone runs on."""


class KeyLimits(BaseModel):
    rate_limit_per_minute: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Requests per minute (None: the server's default)."
    )
    monthly_char_quota: int | None = Field(
        None,
        ge=0,
        le=INT32_MAX,
        description="Characters per billing period (None: the server's default; 0: none).",
    )
    max_concurrent_jobs: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Jobs pending or running at once."
    )
    history_max_age_days: int | None = Field(
        None,
        ge=1,
        le=36500,
        description="Generation history kept this many days (None: the server's).",
    )
    history_max_bytes: int | None = Field(
        None,
        ge=0,
        le=2**62,
        description="Generation history audio kept, in bytes (None: the server's).",
    )


class KeyCreate(KeyLimits):
    label: str = Field("", max_length=200)


class KeyUpdate(KeyLimits):
    """``PATCH /v1/keys/{id}``: the fields sent are set (null clears a limit); the rest stay."""

    label: str | None = Field(None, max_length=200)


class KeyPublic(BaseModel):
    key_id: str
    label: str
    prefix: str
    rate_limit_per_minute: int | None
    monthly_char_quota: int | None
    max_concurrent_jobs: int | None
    history_max_age_days: int | None
    history_max_bytes: int | None
    period_start: datetime | None
    period_end: datetime | None
    plan: str | None
    email: str | None
    has_webhook_secret: bool
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyPublic:
        return cls(
            key_id=key.id,
            label=key.label,
            prefix=key.prefix,
            rate_limit_per_minute=key.rate_limit_per_minute,
            monthly_char_quota=key.monthly_char_quota,
            max_concurrent_jobs=key.max_concurrent_jobs,
            history_max_age_days=key.history_max_age_days,
            history_max_bytes=key.history_max_bytes,
            period_start=key.period_start,
            period_end=key.period_end,
            plan=key.plan,
            email=key.email,
            has_webhook_secret=key.webhook_secret is not None,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class WebhookSecretIssued(BaseModel):
    key_id: str
    webhook_secret: str = Field(
        description="Signs this key's webhooks (X-Voxclone-Signature). Shown once."
    )


class KeyIssued(KeyPublic):
    api_key: str = Field(description="The key itself. It is shown once and never again.")


class VoicePublic(BaseModel):
    voice_id: str
    name: str
    category: str = Field(
        "cloned",
        description="cloned (this key's own voice) or stock (a built-in engine's voice, every "
        "key's, read-only: docs/voices.md)",
    )
    backend: str
    lang: str
    family: str | None
    ref_text: str | None
    ref_text_auto: bool
    ref_format: str | None = Field(description="null for a stock voice (no reference clip)")
    ref_duration_s: float | None
    ref_sample_rate: int | None
    status: str = Field(description="fitting, ready or failed")
    progress: float
    error: str | None
    fit_job_id: str | None = Field(None, description="The job fitting this voice, if any.")
    denoised: bool = Field(False, description="The reference was denoised before it was stored.")
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    refitting: bool = Field(
        False, description="A change of samples is being fitted; the previous fit serves."
    )
    refit_job_id: str | None = Field(None, description="The job refitting this voice, if any.")
    refit_error: str | None = Field(
        None, description="Why the last refit failed (the previous fit still serves)."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, voice: Voice) -> VoicePublic:
        return cls(
            voice_id=voice.id,
            name=voice.name,
            backend=voice.backend,
            lang=voice.lang,
            family=voice.family,
            ref_text=voice.ref_text,
            ref_text_auto=voice.ref_text_auto,
            ref_format=voice.ref_format,
            ref_duration_s=voice.ref_duration_s,
            ref_sample_rate=voice.ref_sample_rate,
            status=voice.status,
            progress=voice.progress,
            error=voice.error,
            fit_job_id=(voice.meta or {}).get("fit_job_id"),
            denoised=bool((voice.meta or {}).get("denoised")),
            description=voice.description,
            tags=list(voice.tags or []),
            labels={str(k): str(v) for k, v in (voice.labels or {}).items()},
            refitting=bool((voice.meta or {}).get("refit_job_id")),
            refit_job_id=(voice.meta or {}).get("refit_job_id"),
            refit_error=(voice.meta or {}).get("refit_error"),
            created_at=voice.created_at,
            updated_at=voice.updated_at,
        )


class VoicePatch(BaseModel):
    name: str | None = Field(None, max_length=200)
    family: str | None = Field(None, max_length=200)
    ref_text: str | None = Field(None, max_length=5000)
    lang: str | None = Field(None, max_length=16)
    backend: str | None = Field(None, max_length=100)
    description: str | None = Field(None, description="At most 2000 characters; empty clears.")
    tags: list[Any] | None = Field(None, description="Replaces the tags; [] clears them.")
    labels: dict[str, Any] | None = Field(
        None, description="Replaces the labels (a map of strings); {} clears them."
    )


class SynthesizeBody(BaseModel):
    voice_id: str | None = Field(
        None,
        description="A voice id or name of this key's, or a stock voice: af_heart, alloy, "
        "af_bella(2)+af_sky(1) (docs/voices.md).",
    )
    text: str | None = None
    lang: str | None = Field(
        None,
        max_length=16,
        description="absent: the voice's language; auto: detected from the text.",
    )
    backend: str | None = Field(None, max_length=100)
    format: str = "wav"
    sample_rate: int | None = None
    speed: float = 1.0
    seed: int | None = None
    pronunciation_dictionary_locators: list[PronunciationLocator] | None = Field(
        None, max_length=3, description=LOCATORS_DESCRIPTION
    )
    callback_url: str | None = Field(
        None,
        max_length=2048,
        description="On a cache miss, the job's JSON is POSTed here, signed, when it ends.",
    )
    with_timestamps: bool = Field(
        False,
        description="true: synthesize now (no job) and answer JSON: the audio in base64, its "
        "character alignment and word times (docs/api.md, Timestamps and captions).",
    )
    stream: bool = Field(
        False,
        description="With with_timestamps: newline-delimited JSON, one line per chunk as it is "
        "synthesized, each with its alignment (times from the start of the whole audio).",
    )
    caption_format: str | None = Field(
        None, description="With with_timestamps: srt or vtt adds the captions to the JSON."
    )


class JobQueued(BaseModel):
    job_id: str
    status: str


class JobPublic(BaseModel):
    job_id: str
    kind: str
    status: str
    progress: float = Field(
        description="0..1; never goes down, also when the job is resumed after a restart."
    )
    attempt: int = Field(
        0, description="Which run of the job this is (1 the first; more after a restart)."
    )
    voice_id: str | None
    backend: str | None
    audio_url: str | None = None
    result_url: str | None = Field(
        None,
        description="Once ready: GET it for what the job made (a transcription's transcript in "
        "its response_format, the audio of a job that made audio, else the result JSON).",
    )
    audio_duration_s: float | None = None
    error: str | None = None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    result: dict[str, Any] | None = Field(
        None, description="What a job produces other than audio (a biometrics job's segments)."
    )

    @classmethod
    def of(cls, job: Job, *, audio_url: str | None, result_url: str | None = None) -> JobPublic:
        ready = job.status == "ready"
        return cls(
            job_id=job.id,
            kind=job.kind,
            status=job.status,
            progress=job.progress,
            attempt=job.attempts,
            voice_id=job.voice_id or job.params.get("voice"),
            backend=job.params.get("backend"),
            audio_url=audio_url if ready and job.audio_key is not None else None,
            result_url=result_url if ready else None,
            audio_duration_s=job.audio_duration_s,
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            completed_at=job.completed_at,
            result=job.result,
        )


class VoiceSettings(BaseModel):
    """ElevenLabs' voice_settings: ``speed`` and ``stability`` are honoured where the engine
    can (services/voice_settings.py); the others are accepted and ignored."""

    speed: float = Field(1.0, description="Speaking rate, 0.25-4 (1: the voice's own).")
    stability: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="0-1: how steady the delivery is. Engines with sampling noise (Piper, "
        "remote engines with a temperature) get temperature 2*(1-stability): 1 is the same "
        "audio every time, 0.5 the engine's default. Kokoro is deterministic and ignores it.",
    )
    similarity_boost: float | None = Field(
        None, ge=0.0, le=1.0, description="Accepted and ignored: no engine has such a control."
    )
    style: float | None = Field(
        None, ge=0.0, le=1.0, description="Accepted and ignored: no engine has such a control."
    )
    use_speaker_boost: bool | None = Field(
        None, description="Accepted and ignored: no engine has such a control."
    )


class TextToSpeechBody(BaseModel):
    text: str | None = None
    model_id: str | None = Field(None, description="A voxclone backend name.")
    language_code: str | None = Field(
        None,
        description="The language to speak (en, es, fr...); auto: detected from the text among "
        "the engine's languages; absent: the voice's own.",
    )
    voice_settings: VoiceSettings | None = None
    seed: int | None = None
    output_format: str | None = None
    pronunciation_dictionary_locators: list[PronunciationLocator] | None = Field(
        None, max_length=3, description=LOCATORS_DESCRIPTION
    )


# --- OpenAI-compatible speech -------------------------------------------------------------------


class VoiceRef(BaseModel):
    """OpenAI's custom-voice object, ``{"id": "..."}``: a voxclone voice id or name."""

    id: str


class SpeechCreate(BaseModel):
    """The body of OpenAI's ``POST /v1/audio/speech``."""

    model: str = Field(
        description="tts-1, tts-1-hd or gpt-4o-mini-tts (the voice's own backend), "
        "or a voxclone backend name (local, piper…)."
    )
    input: str = Field(description="The text: 1 to limits.max_text_chars (5000) characters.")
    voice: str | VoiceRef = Field(
        description="A voice id or name of this key's voices; a name shared by several voices "
        "means the most recently created one; else a stock voice: OpenAI's alloy, ash... "
        "(docs/voices.md), a Kokoro name (af_heart) or a Kokoro-FastAPI mix "
        '(af_bella(2)+af_sky(1)). Also {"id": ...}.'
    )
    response_format: str = Field(
        "mp3", description="mp3, opus (Ogg Opus), flac, wav, or pcm (raw s16le, 24 kHz, mono)."
    )
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED)
    instructions: str | None = Field(
        None,
        description="Accepted and ignored: no built-in engine (Kokoro, Piper) takes style "
        "prompts; speed and the voice are what shape the speech.",
    )
    stream_format: str | None = Field(
        None,
        description="audio (the default: the audio itself) or sse: server-sent events "
        "speech.audio.delta (base64 audio) then speech.audio.done (usage).",
    )
    stream: bool | None = Field(
        None,
        description="true: send the audio as it is synthesized (chunked; mp3, wav or pcm), as "
        "Kokoro-FastAPI does. Absent or false: the whole file at once.",
    )


class ModelPublic(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="When this server started, in Unix seconds.")
    owned_by: str = "voxclone"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelPublic]


class EngineStatus(BaseModel):
    name: str
    kind: str
    loaded: bool
    available: bool
    detail: str = ""


class Health(BaseModel):
    status: str
    version: str
    uptime_seconds: float
    backends: list[str]
    engines: list[EngineStatus]
    extra: dict[str, Any] = Field(default_factory=dict)


class EndpointPublic(BaseModel):
    """One URL of a remote engine (GET /v1/engines)."""

    url: str
    weight: float
    state: str = Field(description="up, ejected (failing, resting), probing, or refused")
    outstanding: int = Field(description="Requests in flight now.")
    requests: int
    failures: int
    consecutive_failures: int
    latency_p50_ms: float | None = Field(description="Over the last 256 successful requests.")
    latency_p95_ms: float | None
    latency_samples: int
    last_error: str | None
    retry_in_s: float | None = Field(description="When an ejected URL is next probed.")


class EnginePublic(BaseModel):
    name: str
    kind: str
    remote: bool
    fallback: str | None
    loaded: bool
    available: bool
    detail: str
    version: str | None
    latency_p50_ms: float | None = Field(
        None, description="Over this process's last 256 calls (None: not called yet)."
    )
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_samples: int = 0
    urls: list[EndpointPublic]


class EngineList(BaseModel):
    status: str = Field(description="healthy, degraded or unhealthy, as in /health")
    default_backend: str
    engines: list[EnginePublic]


# --- voice biometrics ---------------------------------------------------------------------------


class SpeakerCreate(BaseModel):
    name: str = Field(..., max_length=200)
    meta: dict[str, Any] | None = None


class SpeakerPublic(BaseModel):
    speaker_id: str
    name: str
    meta: dict[str, Any]
    enrolled: bool = Field(description="True once the speaker has a voice print.")
    enrollment_count: int
    speech_s: float = Field(description="Seconds of speech enrolled, over all enrollments.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, speaker: Speaker) -> SpeakerPublic:
        return cls(
            speaker_id=speaker.id,
            name=speaker.name,
            meta=speaker.meta or {},
            enrolled=speaker.embedding is not None and speaker.enrollment_count > 0,
            enrollment_count=speaker.enrollment_count,
            speech_s=speaker.speech_s,
            created_at=speaker.created_at,
            updated_at=speaker.updated_at,
        )


class EnrollmentPublic(BaseModel):
    enrollment_id: str
    speaker_id: str
    duration_s: float
    speech_s: float = Field(description="Seconds of speech found in it by VAD.")
    created_at: datetime

    @classmethod
    def of(cls, enrollment: SpeakerEnrollment) -> EnrollmentPublic:
        return cls(
            enrollment_id=enrollment.id,
            speaker_id=enrollment.speaker_id,
            duration_s=enrollment.duration_s,
            speech_s=enrollment.speech_s,
            created_at=enrollment.created_at,
        )


class EnrollmentCreated(BaseModel):
    enrollment: EnrollmentPublic
    speaker: SpeakerPublic


class VerifyResult(BaseModel):
    speaker_id: str
    score: float = Field(description="Cosine similarity of the audio and the speaker's print.")
    match: bool = Field(description="score >= threshold")
    threshold: float
    speech_s: float


class CandidatePublic(BaseModel):
    speaker_id: str
    name: str
    score: float


class IdentifyResult(BaseModel):
    candidates: list[CandidatePublic] = Field(description="Scores >= threshold, best first.")
    threshold: float
    speech_s: float


class WebhookAttemptPublic(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None = Field(description="The receiver's answer; None: no answer.")
    error: str | None = Field(description="Why it did not count as delivered; None: it did.")
    duration_ms: int


class WebhookDeliveryPublic(BaseModel):
    delivery_id: str = Field(description="Sent as X-Voxclone-Delivery.")
    url: str
    event: str = Field(description="job.ready, job.failed or job.cancelled.")
    status: str = Field(description="pending, delivered or failed (given up).")
    attempts: list[WebhookAttemptPublic]
    next_attempt_at: datetime | None = Field(description="When a pending one is tried next.")
    created_at: datetime
    delivered_at: datetime | None
