"""Web studio sessions: an API key exchanged for an HttpOnly cookie.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "studio_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studio_sessions")),
    )
    op.create_index(
        op.f("ix_studio_sessions_key_hash"), "studio_sessions", ["key_hash"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_studio_sessions_key_hash"), table_name="studio_sessions")
    op.drop_table("studio_sessions")
