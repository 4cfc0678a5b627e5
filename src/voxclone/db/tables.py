"""The tables. Portable across SQLite and PostgreSQL (no dialect-only types).

Times are timezone-aware UTC (``UtcDateTime``, also on SQLite, which stores no offset). Ids are
UUID strings. JSON columns hold small documents only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


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


class CacheEntry(Base):
    """Synthesized audio for a cache key (voice, text, lang, backend, params, engine version)."""

    __tablename__ = "synthesis_cache"

    cache_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    voice_id: Mapped[str] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"), index=True)
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
