"""The tables. Portable across SQLite and PostgreSQL (no dialect-only types).

Times are timezone-aware UTC (``UtcDateTime``, also on SQLite, which stores no offset). Ids are
UUID strings. JSON columns hold small documents only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always stores UTC and always reads back aware UTC.

    SQLite keeps no offset: without this, an aware time in another zone would be stored as
    its wall-clock reading, and every time would come back naive.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: voxclone stores aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: UtcDateTime()}


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 hex of the full key; the key itself is never stored."""
    prefix: Mapped[str] = mapped_column(String(16))
    """The first characters of the key (``vx_ab12``), to tell keys apart in listings."""
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    monthly_char_quota: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Characters per billing period (None: the server's default; 0: none allowed)."""
    max_concurrent_jobs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Jobs pending or running at once (None: the server's default)."""
    period_start: Mapped[datetime | None] = mapped_column(nullable=True)
    """The billing window (Stripe's current period) when the key has one; else the month."""
    period_end: Mapped[datetime | None] = mapped_column(nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """Signs outbound webhooks (``whsec_...``); kept in clear, as it must sign, shown once."""
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    plan: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """The billing plan (a Stripe price id) the key was issued for."""
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(
        String(255), nullable=True, index=True
    )
    history_max_age_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """History retention for this key (None: the server's)."""
    history_max_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Voice(Base):
    __tablename__ = "voices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    backend: Mapped[str] = mapped_column(String(100))
    lang: Mapped[str] = mapped_column(String(16), default="en")
    family: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ref_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    ref_text_auto: Mapped[bool] = mapped_column(Boolean, default=False)
    """True when ref_text was transcribed by voxclone rather than given by the user."""
    ref_audio_key: Mapped[str] = mapped_column(String(300))
    ref_format: Mapped[str] = mapped_column(String(16))
    ref_duration_s: Mapped[float] = mapped_column(Float)
    ref_sample_rate: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="ready")
    progress: Mapped[float] = mapped_column(Float, default=1.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """User-set string labels (ElevenLabs' ``labels``: accent, age, gender, use case...)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class VoiceSample(Base):
    """One reference clip of a voice; a voice fitted to several is fitted to all of them."""

    __tablename__ = "voice_samples"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    voice_id: Mapped[str] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"), index=True)
    audio_key: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(16))
    duration_s: Mapped[float] = mapped_column(Float)
    sample_rate: Mapped[int] = mapped_column(Integer)
    ref_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    ref_text_auto: Mapped[bool] = mapped_column(Boolean, default=False)
    checks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the reference checks found (speech, noise, speakers), for the API to show."""
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoicePrompt(Base):
    """An engine's voice prompt for one voice, computed once and reused."""

    __tablename__ = "voice_prompts"

    voice_id: Mapped[str] = mapped_column(
        ForeignKey("voices.id", ondelete="CASCADE"), primary_key=True
    )
    engine: Mapped[str] = mapped_column(String(100), primary_key=True)
    engine_version: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    voice_id: Mapped[str | None] = mapped_column(
        ForeignKey("voices.id", ondelete="CASCADE"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the job needs to run: text, lang, backend, format and engine parameters."""
    cache_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    audio_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    audio_duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """Last renewal of the running worker's lease; a job whose lease ran out may be claimed."""
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """Who holds (or last held) the job: ``host:pid``, for operators."""
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """What a job produces other than audio (a biometrics job's segments)."""
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Outbound webhook: POSTed the job's JSON, signed, when the job ends."""
    callback_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Inbound: SHA-256 of the per-job secret a serverless engine must present to
    ``POST /v1/jobs/{id}/complete``."""


class CacheEntry(Base):
    """Synthesized audio for a cache key (voice, text, lang, backend, params, engine version)."""

    __tablename__ = "synthesis_cache"

    cache_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    voice_id: Mapped[str] = mapped_column(String(200), index=True)
    """A stored voice's id, or a stock voice's (no foreign key: stock voices have no row);
    deleting a voice deletes its entries (``VoiceService.delete``)."""
    backend: Mapped[str] = mapped_column(String(100))
    audio_key: Mapped[str] = mapped_column(String(300))
    audio_duration_s: Mapped[float] = mapped_column(Float)
    synthesis_ms: Mapped[int] = mapped_column(Integer)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_hit_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Speaker(Base):
    """A person enrolled for verification and identification; belongs to one key."""

    __tablename__ = "speakers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    embedding: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    """The speaker's print: the normalised mean of its enrollments' embeddings (None: none)."""
    enrollment_count: Mapped[int] = mapped_column(Integer, default=0)
    speech_s: Mapped[float] = mapped_column(Float, default=0.0)
    """Seconds of speech enrolled, over all enrollments."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SpeakerEnrollment(Base):
    __tablename__ = "speaker_enrollments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    speaker_id: Mapped[str] = mapped_column(
        ForeignKey("speakers.id", ondelete="CASCADE"), index=True
    )
    embedding: Mapped[list[float]] = mapped_column(JSON)
    audio_key: Mapped[str] = mapped_column(String(300))
    """The enrolled audio in the blob store (``enrollments/{speaker_id}/{id}.wav``)."""
    duration_s: Mapped[float] = mapped_column(Float)
    speech_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsageEvent(Base):
    """One billable act: a synthesis, a transcription, a denoise, a biometrics call or job.

    ``event_key`` makes recording idempotent: a job's usage is keyed by the job, so a retried
    job is counted once.
    """

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_key_created", "key_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    """tts, stt, denoise or biometrics."""
    entry: Mapped[str] = mapped_column(String(32))
    """The way in: sync, stream, job, ws, openai, oneshot, transcribe, ..."""
    voice_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """No foreign key: usage outlives a deleted voice (and stock voices have no row)."""
    backend: Mapped[str] = mapped_column(String(100), default="")
    characters: Mapped[int] = mapped_column(Integer, default=0)
    """Characters billed (0 on a cache hit)."""
    audio_out_s: Mapped[float] = mapped_column(Float, default=0.0)
    audio_in_s: Mapped[float] = mapped_column(Float, default=0.0)
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    requests: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """An outbound webhook for a finished job, retried until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(32))
    """job.ready, job.failed or job.cancelled."""
    payload: Mapped[str] = mapped_column(Text)
    """The exact body POSTed (the signature covers it)."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, delivered or failed (given up)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    """A host sending it holds it until then; after, another host may."""
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WebhookAttempt(Base):
    """One try at a delivery: the delivery log of ``GET /v1/jobs/{id}/deliveries``."""

    __tablename__ = "webhook_attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class StripeEvent(Base):
    """A Stripe webhook event already processed (events are handled once)."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BillingCheckout(Base):
    """A Stripe Checkout Session started by ``POST /v1/checkout``; the browser that started it
    holds ``token`` (only its hash is stored) and sees the issued key once."""

    __tablename__ = "billing_checkouts"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    price_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, completed (key issued, not yet shown) or claimed (shown once)."""
    key_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    key_secret: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """The issued key until the browser has been shown it once; then cleared."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class HistoryItem(Base):
    """A synthesis that produced audio (or an edit's result), kept for the key to find again.

    ``audio_key`` may be the synthesis cache's blob (shared, not copied); ``voice_id`` has no
    foreign key, so the item outlives its voice (``voice_deleted``) unless purged.
    """

    __tablename__ = "history_items"
    __table_args__ = (Index("ix_history_items_key_created", "key_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    voice_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    voice_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    voice_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str | None] = mapped_column(String(16), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Format, sample rate, speed, seed, temperature: what regenerating needs."""
    backend: Mapped[str] = mapped_column(String(100), default="")
    entry: Mapped[str] = mapped_column(String(32), default="")
    """sync, stream, job, ws, openai, oneshot, synthesize, edit, story."""
    job_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    source_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    """The history item an edit or regeneration started from."""
    audio_key: Mapped[str] = mapped_column(String(300))
    audio_format: Mapped[str] = mapped_column(String(16))
    audio_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    audio_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    """Hex SHA-256 of the audio's bytes (provenance); None when provenance was off."""
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    characters: Mapped[int] = mapped_column(Integer, default=0)
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    starred: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Story(Base):
    """A multi-voice, multi-track story: tracks of clips placed in time."""

    __tablename__ = "stories"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Render settings: format, sample rate, target loudness, gap between script lines."""
    last_render_job_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StoryTrack(Base):
    __tablename__ = "story_tracks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    story_id: Mapped[str] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    gain_db: Mapped[float] = mapped_column(Float, default=0.0)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoryClip(Base):
    """A clip on a track: text in a voice, a history item, or uploaded audio, placed in time."""

    __tablename__ = "story_clips"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    track_id: Mapped[str] = mapped_column(
        ForeignKey("story_tracks.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    """text, history or upload."""
    start_s: Mapped[float] = mapped_column(Float, default=0.0)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    voice_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    history_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    audio_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    """Uploaded audio, or the rendered audio of a text clip."""
    rendered_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """What the rendered audio was made from (text, voice, params): unchanged clips are not
    regenerated on a re-render."""
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    trim_in_s: Mapped[float] = mapped_column(Float, default=0.0)
    trim_out_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    gain_db: Mapped[float] = mapped_column(Float, default=0.0)
    fade_in_s: Mapped[float] = mapped_column(Float, default=0.0)
    fade_out_s: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StudioSession(Base):
    """A web studio sign-in: an API key exchanged for a cookie (docs/studio.md).

    The cookie carries a random token; only its SHA-256 is stored. The session refers to the key
    by the key's own hash, so a revoked key ends its sessions at once, and the admin key (which
    has no row) can sign in too.
    """

    __tablename__ = "studio_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 hex of the cookie's token."""
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    """Sent back in ``X-CSRF-Token`` on every state-changing request."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class VoiceConsent(Base):
    """A spoken consent to clone a voice (docs/consent.md): the one-time phrase the server
    issued, and, once a recording came back, what it was judged to be."""

    __tablename__ = "voice_consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    voice_id: Mapped[str] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(String(36), index=True)
    phrase: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending (a challenge), accepted, rejected or expired."""
    expires_at: Mapped[datetime] = mapped_column()
    """A pending challenge must be answered before then."""
    transcript: Mapped[str | None] = mapped_column(Text, nullable=True)
    word_error_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    speaker_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    speaker_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    recording_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PronunciationDictionary(Base):
    """A key's pronunciation dictionary (docs/pronunciation.md): alias and phoneme rules
    applied to the text of the syntheses that name it. Every change makes a new ``version_id``."""

    __tablename__ = "pronunciation_dictionaries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    version_id: Mapped[str] = mapped_column(String(36))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """``{"type": "alias", "string_to_replace", "alias"}`` or ``{"type": "phoneme",
    "string_to_replace", "phoneme", "alphabet"}``, in order."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
