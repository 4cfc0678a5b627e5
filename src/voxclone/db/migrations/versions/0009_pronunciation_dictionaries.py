"""Per-key pronunciation dictionaries: alias and phoneme rules.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pronunciation_dictionaries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("version_id", sa.String(36), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_pronunciation_dictionaries_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pronunciation_dictionaries")),
    )
    op.create_index(
        op.f("ix_pronunciation_dictionaries_key_id"), "pronunciation_dictionaries", ["key_id"]
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_pronunciation_dictionaries_key_id"), table_name="pronunciation_dictionaries"
    )
    op.drop_table("pronunciation_dictionaries")
