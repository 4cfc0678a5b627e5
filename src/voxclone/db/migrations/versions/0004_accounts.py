"""Accounts: usage events, per-key limits and billing window, webhooks both ways, Stripe.

``usage_events`` records every billable act once (``event_key`` makes a job's record
idempotent). Keys gain a concurrency limit, a billing window, a webhook secret and the Stripe
customer they were issued to. Jobs gain an outbound ``callback_url`` and the hash of the
per-job secret an inbound completion must present. ``webhook_deliveries`` and
``webhook_attempts`` are the durable retry record and its log; ``stripe_events`` and
``billing_checkouts`` make the Stripe flow idempotent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("max_concurrent_jobs", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("period_start", TIME, nullable=True))
        batch.add_column(sa.Column("period_end", TIME, nullable=True))
        batch.add_column(sa.Column("webhook_secret", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("plan", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("stripe_customer_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("stripe_subscription_id", sa.String(length=255), nullable=True))
        batch.create_index(batch.f("ix_api_keys_stripe_customer_id"), ["stripe_customer_id"])
        batch.create_index(
            batch.f("ix_api_keys_stripe_subscription_id"), ["stripe_subscription_id"]
        )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("callback_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("callback_secret_hash", sa.String(length=64), nullable=True))

    op.create_table(
        "usage_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=True),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entry", sa.String(length=32), nullable=False),
        sa.Column("voice_id", sa.String(length=36), nullable=True),
        sa.Column("backend", sa.String(length=100), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("audio_out_s", sa.Float(), nullable=False),
        sa.Column("audio_in_s", sa.Float(), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_usage_events_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_usage_events_event_key")),
    )
    op.create_index("ix_usage_events_key_created", "usage_events", ["key_id", "created_at"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("claimed_until", TIME, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("delivered_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_webhook_deliveries_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_webhook_deliveries_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(op.f("ix_webhook_deliveries_job_id"), "webhook_deliveries", ["job_id"])
    op.create_index(
        "ix_webhook_deliveries_status_next", "webhook_deliveries", ["status", "next_attempt_at"]
    )

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(op.f("ix_webhook_attempts_delivery_id"), "webhook_attempts", ["delivery_id"])

    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_table(
        "billing_checkouts",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("stripe_session_id", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("price_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=True),
        sa.Column("key_secret", sa.String(length=100), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("claimed_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_billing_checkouts")),
        sa.UniqueConstraint(
            "stripe_session_id", name=op.f("uq_billing_checkouts_stripe_session_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("billing_checkouts")
    op.drop_table("stripe_events")
    op.drop_index(op.f("ix_webhook_attempts_delivery_id"), table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_status_next", table_name="webhook_deliveries")
    op.drop_index(op.f("ix_webhook_deliveries_job_id"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_usage_events_key_created", table_name="usage_events")
    op.drop_table("usage_events")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("callback_secret_hash")
        batch.drop_column("callback_url")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index(batch.f("ix_api_keys_stripe_subscription_id"))
        batch.drop_index(batch.f("ix_api_keys_stripe_customer_id"))
        for column in (
            "stripe_subscription_id",
            "stripe_customer_id",
            "plan",
            "email",
            "webhook_secret",
            "period_end",
            "period_start",
            "max_concurrent_jobs",
        ):
            batch.drop_column(column)
