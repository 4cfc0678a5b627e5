"""Initial schema: api_keys, voices, voice_prompts, jobs, synthesis_cache.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.Column("monthly_char_quota", sa.Integer(), nullable=True),
        _time("created_at", nullable=False),
        _time("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "voices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("backend", sa.String(length=100), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=False),
        sa.Column("family", sa.String(length=200), nullable=True),
        sa.Column("ref_text", sa.Text(), nullable=True),
        sa.Column("ref_text_auto", sa.Boolean(), nullable=False),
        sa.Column("ref_audio_key", sa.String(length=300), nullable=False),
        sa.Column("ref_format", sa.String(length=16), nullable=False),
        sa.Column("ref_duration_s", sa.Float(), nullable=False),
        sa.Column("ref_sample_rate", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_voices_key_id_api_keys"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voices")),
    )
    op.create_index(op.f("ix_voices_key_id"), "voices", ["key_id"])
    op.create_table(
        "voice_prompts",
        sa.Column("voice_id", sa.String(length=36), nullable=False),
        sa.Column("engine", sa.String(length=100), nullable=False),
        sa.Column("engine_version", sa.String(length=200), nullable=False),
        sa.Column("prompt", sa.JSON(), nullable=False),
        _time("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["voice_id"],
            ["voices.id"],
            name=op.f("fk_voice_prompts_voice_id_voices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("voice_id", "engine", name=op.f("pk_voice_prompts")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("voice_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("cache_key", sa.String(length=64), nullable=True),
        sa.Column("audio_key", sa.String(length=300), nullable=True),
        sa.Column("audio_duration_s", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("created_at", nullable=False),
        _time("started_at", nullable=True),
        _time("completed_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_jobs_key_id_api_keys"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["voice_id"], ["voices.id"], name=op.f("fk_jobs_voice_id_voices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_key_id"), "jobs", ["key_id"])
    op.create_index(op.f("ix_jobs_voice_id"), "jobs", ["voice_id"])
    op.create_index("ix_jobs_status_created", "jobs", ["status", "created_at"])
    op.create_table(
        "synthesis_cache",
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("voice_id", sa.String(length=36), nullable=False),
        sa.Column("backend", sa.String(length=100), nullable=False),
        sa.Column("audio_key", sa.String(length=300), nullable=False),
        sa.Column("audio_duration_s", sa.Float(), nullable=False),
        sa.Column("synthesis_ms", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        _time("created_at", nullable=False),
        _time("last_hit_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["voice_id"],
            ["voices.id"],
            name=op.f("fk_synthesis_cache_voice_id_voices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cache_key", name=op.f("pk_synthesis_cache")),
    )
    op.create_index(op.f("ix_synthesis_cache_voice_id"), "synthesis_cache", ["voice_id"])


def downgrade() -> None:
    op.drop_table("synthesis_cache")
    op.drop_table("jobs")
    op.drop_table("voice_prompts")
    op.drop_table("voices")
    op.drop_table("api_keys")
