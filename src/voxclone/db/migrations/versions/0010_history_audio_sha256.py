"""History items keep their audio's SHA-256 (provenance: find the item from a file).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("history_items") as batch:
        batch.add_column(sa.Column("audio_sha256", sa.String(64), nullable=True))
        batch.create_index("ix_history_items_audio_sha256", ["audio_sha256"])


def downgrade() -> None:
    with op.batch_alter_table("history_items") as batch:
        batch.drop_index("ix_history_items_audio_sha256")
        batch.drop_column("audio_sha256")
