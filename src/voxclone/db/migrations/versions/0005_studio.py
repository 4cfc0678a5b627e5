"""Voice profiles, generation history and stories.

Voices gain a description, tags and labels, and several reference samples
(``voice_samples``). ``history_items`` keeps every synthesis that produced audio (its audio
may be the cache's blob). Keys gain their own history retention. ``stories``, ``story_tracks``
and ``story_clips`` hold multi-voice, multi-track stories.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("voices") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("labels", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("history_max_age_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("history_max_bytes", sa.BigInteger(), nullable=True))

    op.create_table(
        "voice_samples",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("voice_id", sa.String(length=36), nullable=False),
        sa.Column("audio_key", sa.String(length=300), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("ref_text", sa.Text(), nullable=True),
        sa.Column("ref_text_auto", sa.Boolean(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        _fk("voice_samples", "voice_id", "voices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_samples")),
    )
    op.create_index(op.f("ix_voice_samples_voice_id"), "voice_samples", ["voice_id"])

    op.create_table(
        "history_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("voice_id", sa.String(length=36), nullable=True),
        sa.Column("voice_name", sa.String(length=200), nullable=True),
        sa.Column("voice_deleted", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("backend", sa.String(length=100), nullable=False),
        sa.Column("entry", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("source_id", sa.String(length=36), nullable=True),
        sa.Column("audio_key", sa.String(length=300), nullable=False),
        sa.Column("audio_format", sa.String(length=16), nullable=False),
        sa.Column("audio_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("starred", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        _fk("history_items", "key_id", "api_keys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_items")),
    )
    op.create_index("ix_history_items_key_created", "history_items", ["key_id", "created_at"])
    op.create_index(op.f("ix_history_items_voice_id"), "history_items", ["voice_id"])

    op.create_table(
        "stories",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("last_render_job_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        _fk("stories", "key_id", "api_keys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_index(op.f("ix_stories_key_id"), "stories", ["key_id"])
    op.create_table(
        "story_tracks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("story_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("gain_db", sa.Float(), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        _fk("story_tracks", "story_id", "stories"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_tracks")),
    )
    op.create_index(op.f("ix_story_tracks_story_id"), "story_tracks", ["story_id"])
    op.create_table(
        "story_clips",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("track_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("voice_id", sa.String(length=36), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("history_id", sa.String(length=36), nullable=True),
        sa.Column("audio_key", sa.String(length=300), nullable=True),
        sa.Column("rendered_hash", sa.String(length=64), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("trim_in_s", sa.Float(), nullable=False),
        sa.Column("trim_out_s", sa.Float(), nullable=True),
        sa.Column("gain_db", sa.Float(), nullable=False),
        sa.Column("fade_in_s", sa.Float(), nullable=False),
        sa.Column("fade_out_s", sa.Float(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        _fk("story_clips", "track_id", "story_tracks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_clips")),
    )
    op.create_index(op.f("ix_story_clips_track_id"), "story_clips", ["track_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_story_clips_track_id"), table_name="story_clips")
    op.drop_table("story_clips")
    op.drop_index(op.f("ix_story_tracks_story_id"), table_name="story_tracks")
    op.drop_table("story_tracks")
    op.drop_index(op.f("ix_stories_key_id"), table_name="stories")
    op.drop_table("stories")
    op.drop_index(op.f("ix_history_items_voice_id"), table_name="history_items")
    op.drop_index("ix_history_items_key_created", table_name="history_items")
    op.drop_table("history_items")
    op.drop_index(op.f("ix_voice_samples_voice_id"), table_name="voice_samples")
    op.drop_table("voice_samples")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("history_max_bytes")
        batch.drop_column("history_max_age_days")
    with op.batch_alter_table("voices") as batch:
        batch.drop_column("labels")
        batch.drop_column("tags")
        batch.drop_column("description")
