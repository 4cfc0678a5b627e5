"""Stock voices: cached audio, usage and history of voices that have no row.

A stock voice (a built-in engine's own voice, every key's) has no ``voices`` row, so the
synthesis cache's ``voice_id`` loses its foreign key (deleting a voice deletes its entries in
``VoiceService.delete``, as it did besides the cascade). A mix's id
(``af_bella(0.667)+af_sky(0.333)``) can be longer than a UUID: ``voice_id`` is 200 characters
in the cache, usage and history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDE = sa.String(200)
NARROW = sa.String(36)


def upgrade() -> None:
    with op.batch_alter_table("synthesis_cache") as batch:
        batch.drop_constraint(op.f("fk_synthesis_cache_voice_id_voices"), type_="foreignkey")
        batch.alter_column("voice_id", type_=WIDE, existing_type=NARROW, existing_nullable=False)
    for table in ("usage_events", "history_items"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("voice_id", type_=WIDE, existing_type=NARROW, existing_nullable=True)


def downgrade() -> None:
    # Rows of stock voices cannot satisfy the foreign key or the width: they go first.
    op.execute("DELETE FROM synthesis_cache WHERE voice_id NOT IN (SELECT id FROM voices)")
    for table in ("usage_events", "history_items"):
        op.execute(f"UPDATE {table} SET voice_id = NULL WHERE length(voice_id) > 36")  # noqa: S608
        with op.batch_alter_table(table) as batch:
            batch.alter_column("voice_id", type_=NARROW, existing_type=WIDE, existing_nullable=True)
    with op.batch_alter_table("synthesis_cache") as batch:
        batch.alter_column("voice_id", type_=NARROW, existing_type=WIDE, existing_nullable=False)
        batch.create_foreign_key(
            op.f("fk_synthesis_cache_voice_id_voices"),
            "voices",
            ["voice_id"],
            ["id"],
            ondelete="CASCADE",
        )
