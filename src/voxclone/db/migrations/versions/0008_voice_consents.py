"""Spoken consent to clone a voice: challenges and their verdicts.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "voice_consents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("voice_id", sa.String(36), nullable=False),
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("phrase", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("word_error_rate", sa.Float(), nullable=True),
        sa.Column("speaker_score", sa.Float(), nullable=True),
        sa.Column("speaker_threshold", sa.Float(), nullable=True),
        sa.Column("recording_sha256", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("decided_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["voice_id"],
            ["voices.id"],
            name=op.f("fk_voice_consents_voice_id_voices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_consents")),
    )
    op.create_index(op.f("ix_voice_consents_voice_id"), "voice_consents", ["voice_id"])
    op.create_index(op.f("ix_voice_consents_key_id"), "voice_consents", ["key_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_voice_consents_key_id"), table_name="voice_consents")
    op.drop_index(op.f("ix_voice_consents_voice_id"), table_name="voice_consents")
    op.drop_table("voice_consents")
