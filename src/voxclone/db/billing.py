"""Queries on the billing tables: Stripe events handled, checkouts started. Flush, never commit.

``record_event`` is the idempotency guard of the Stripe webhook: the event's id is the primary
key of ``stripe_events``, so two deliveries of one event, even at the same moment, cannot both
be recorded; the webhook adds the row in the transaction that applies the event.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db.tables import ApiKey, BillingCheckout, StripeEvent, utcnow


async def event_seen(session: AsyncSession, *, event_id: str) -> bool:
    return await session.get(StripeEvent, event_id) is not None


async def record_event(session: AsyncSession, *, event_id: str, type: str) -> None:
    """Add the event; raises ``IntegrityError`` (at flush) when it is recorded already."""
    session.add(StripeEvent(id=event_id, type=type))
    await session.flush()


async def create_checkout(
    session: AsyncSession,
    *,
    token_hash: str,
    stripe_session_id: str,
    email: str,
    price_id: str,
) -> BillingCheckout:
    checkout = BillingCheckout(
        token_hash=token_hash,
        stripe_session_id=stripe_session_id,
        email=email,
        price_id=price_id,
        status="pending",
    )
    session.add(checkout)
    await session.flush()
    return checkout


async def get_checkout(session: AsyncSession, *, token_hash: str) -> BillingCheckout | None:
    return await session.get(BillingCheckout, token_hash)


async def get_checkout_by_session(
    session: AsyncSession, *, stripe_session_id: str
) -> BillingCheckout | None:
    query = select(BillingCheckout).where(BillingCheckout.stripe_session_id == stripe_session_id)
    return (await session.execute(query)).scalar_one_or_none()


async def complete_checkout(
    session: AsyncSession, *, token_hash: str, key_id: str, key_secret: str
) -> bool:
    """Hold the issued key for the browser (pending → completed); False if not pending."""
    statement = (
        update(BillingCheckout)
        .where(BillingCheckout.token_hash == token_hash, BillingCheckout.status == "pending")
        .values(status="completed", key_id=key_id, key_secret=key_secret)
    )
    options = {"synchronize_session": False}
    result = cast(CursorResult[Any], await session.execute(statement, execution_options=options))
    return result.rowcount > 0


async def claim_checkout(session: AsyncSession, *, token_hash: str) -> bool:
    """Forget the held key (completed → claimed); True only for the one caller that did it."""
    statement = (
        update(BillingCheckout)
        .where(BillingCheckout.token_hash == token_hash, BillingCheckout.status == "completed")
        .values(status="claimed", key_secret=None, claimed_at=utcnow())
    )
    options = {"synchronize_session": False}
    result = cast(CursorResult[Any], await session.execute(statement, execution_options=options))
    return result.rowcount > 0


async def find_subscribed_key(session: AsyncSession, *, email: str) -> ApiKey | None:
    """A key not revoked, issued for a Stripe subscription to this email (case ignored)."""
    query = (
        select(ApiKey)
        .where(
            func.lower(ApiKey.email) == email.lower(),
            ApiKey.revoked_at.is_(None),
            ApiKey.stripe_subscription_id.is_not(None),
        )
        .order_by(ApiKey.created_at)
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()
