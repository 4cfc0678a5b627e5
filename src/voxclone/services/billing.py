"""Signup and Stripe billing (afterwords' flow), built only when a Stripe secret key is set.

1. ``start_checkout``: a Stripe Checkout Session for a plan; the browser gets a random token in
   the success URL (only its SHA-256 is stored). An email that already holds a key for a live
   subscription gets the already-subscribed page instead of a second session.
2. The webhook (``handle_webhook``) verifies ``Stripe-Signature`` and applies each event once:
   ``checkout.session.completed`` issues a key with the plan's limits and holds it for the
   browser; ``customer.subscription.updated`` syncs the billing period (or revokes the key
   when the subscription is unpaid or over); ``customer.subscription.deleted`` revokes it.
3. ``claim_key``: the success page shows the held key once, then forgets it.

Stripe itself is reached through ``StripeApi`` (``services/stripe_api.py``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.config import BillingPlan, BillingSettings
from voxclone.core.errors import (
    BillingNotConfigured,
    InvalidInput,
    NotFound,
)
from voxclone.core.types import new_id
from voxclone.db import billing as billing_queries
from voxclone.db import keys as key_queries
from voxclone.db.tables import ApiKey
from voxclone.services.keys import KeyService, generate_key, hash_key
from voxclone.services.stripe_api import StripeApi

log = logging.getLogger(__name__)

ALREADY_SUBSCRIBED_PATH = "/v1/checkout/already-subscribed"
REVOKING_STATUSES = frozenset({"unpaid", "canceled", "incomplete_expired"})
"""Subscription states in which the key stops working."""
CHECKOUT_STATES: dict[str, Literal["pending", "ready", "claimed"]] = {
    "completed": "ready",
    "claimed": "claimed",
}
"""``billing_checkouts.status`` as the success page's polling tells it."""
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Outcome = Literal["processed", "duplicate", "ignored"]
Effect = Callable[[AsyncSession], Awaitable[list[str] | None]]
"""Applies an event inside its transaction; returns the hashes of the keys it changed, or None
to roll back and ignore the event."""


@dataclass(frozen=True, slots=True)
class ClaimedKey:
    """What the success page shows: ``pending`` (the webhook has not come yet), ``shown``
    (``api_key`` is here, this once) or ``claimed`` (shown before)."""

    state: Literal["pending", "shown", "claimed"]
    api_key: str | None = None
    key_id: str | None = None
    plan: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookResult:
    event_id: str
    type: str
    outcome: Outcome


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _time(value: object) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


def _first_item(subscription: Mapping[str, Any]) -> Mapping[str, Any]:
    items = (subscription.get("items") or {}).get("data") or [{}]
    first: Mapping[str, Any] = items[0]
    return first


def subscription_period(subscription: Mapping[str, Any]) -> tuple[datetime, datetime] | None:
    """The current billing period: on the subscription (Stripe API before 2025-03-31.basil,
    and localstripe) or on its first item (since then)."""
    for holder in (subscription, _first_item(subscription)):
        start, end = (_time(holder.get(f"current_period_{x}")) for x in ("start", "end"))
        if start is not None and end is not None:
            return start, end
    return None


def subscription_price(subscription: Mapping[str, Any]) -> str | None:
    item = _first_item(subscription)
    for field in ("price", "plan"):
        if isinstance(item.get(field), Mapping) and item[field].get("id"):
            return str(item[field]["id"])
    return None


class BillingService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        keys: KeyService,
        settings: BillingSettings,
    ) -> None:
        if settings.stripe_secret_key is None:
            raise ValueError("BillingService needs billing.stripe_secret_key")
        self._sessions = sessions
        self._keys = keys
        self._settings = settings
        self._stripe = StripeApi(
            secret_key=settings.stripe_secret_key.get_secret_value(),
            api_base=settings.stripe_api_base,
        )
        self._effects: dict[str, Callable[[Mapping[str, Any]], Awaitable[Effect | None]]] = {
            "checkout.session.completed": self._checkout_completed,
            "customer.subscription.updated": self._subscription_updated,
            "customer.subscription.deleted": self._subscription_deleted,
        }

    @property
    def plans(self) -> list[BillingPlan]:
        return list(self._settings.plans)

    def plan(self, price_id: str | None) -> BillingPlan | None:
        return next((p for p in self._settings.plans if p.price_id == price_id), None)

    async def close(self) -> None:
        await self._stripe.close()

    # --- checkout ---------------------------------------------------------------------------

    async def start_checkout(self, *, email: str, price_id: str | None, base_url: str) -> str:
        """The URL to send the browser to: Stripe's Checkout page, or the already-subscribed
        page when this email holds a key for a live subscription."""
        email = email.strip().lower()
        if len(email) > 320 or not EMAIL.match(email):
            raise InvalidInput(f"not an email address: {email[:100]!r}", field="email")
        if not self._settings.plans:
            raise BillingNotConfigured(
                "billing is on but no plan is configured: set VOXCLONE_BILLING__PLANS "
                '(e.g. [{"price_id": "price_...", "monthly_char_quota": 100000}])'
            )
        plan = self.plan(price_id) if price_id else self._settings.plans[0]
        if plan is None:
            known = [p.price_id for p in self._settings.plans]
            raise InvalidInput(f"unknown plan {price_id!r}", field="price_id", allowed=known)
        base = (self._settings.app_base_url or base_url).rstrip("/")
        async with self._sessions() as session:
            if await billing_queries.find_subscribed_key(session, email=email) is not None:
                return base + ALREADY_SUBSCRIBED_PATH
        token = secrets.token_urlsafe(32)
        session_id, url = await self._stripe.create_checkout_session(
            price_id=plan.price_id,
            email=email,
            success_url=f"{base}/v1/checkout/success?token={token}",
            cancel_url=f"{base}/v1/signup",
        )
        async with self._sessions() as session:
            await billing_queries.create_checkout(
                session,
                token_hash=hash_token(token),
                stripe_session_id=session_id,
                email=email,
                price_id=plan.price_id,
            )
            await session.commit()
        return url

    async def checkout_state(self, *, token: str) -> Literal["pending", "ready", "claimed"]:
        """Whether the key of this checkout is issued (``ready``) and shown (``claimed``); for
        the browser's polling, which never uses up the one showing."""
        async with self._sessions() as session:
            checkout = await billing_queries.get_checkout(session, token_hash=hash_token(token))
        if checkout is None:
            raise NotFound("no checkout with this token")
        return CHECKOUT_STATES.get(checkout.status, "pending")

    async def claim_key(self, *, token: str) -> ClaimedKey:
        """The key issued for this checkout, the first time it is asked for; then never."""
        async with self._sessions() as session:
            checkout = await billing_queries.get_checkout(session, token_hash=hash_token(token))
            if checkout is None:
                raise NotFound("no checkout with this token")
            plan = self.plan(checkout.price_id)
            name = (plan.name if plan else "") or checkout.price_id
            if checkout.status == "pending":
                return ClaimedKey("pending", plan=name)
            secret, key_id = checkout.key_secret, checkout.key_id
            if checkout.status != "completed" or secret is None:
                return ClaimedKey("claimed", key_id=key_id, plan=name)
            # Only one of two concurrent visits moves completed -> claimed.
            if not await billing_queries.claim_checkout(session, token_hash=checkout.token_hash):
                return ClaimedKey("claimed", key_id=key_id, plan=name)
            await session.commit()
        return ClaimedKey("shown", api_key=secret, key_id=key_id, plan=name)

    # --- webhook ----------------------------------------------------------------------------

    async def handle_webhook(self, *, payload: bytes, signature: str | None) -> WebhookResult:
        """Verify and apply one Stripe event, at most once (its id is recorded in the
        transaction that applies it); events of other types are acknowledged and ignored."""
        event = self._verify(payload, signature)
        event_id, kind = str(event.get("id") or ""), str(event.get("type") or "")
        obj = (event.get("data") or {}).get("object")
        if not event_id or not kind or not isinstance(obj, Mapping):
            raise InvalidInput("the webhook body is not a Stripe event (id, type, data.object)")
        prepare = self._effects.get(kind)
        if prepare is None:
            return WebhookResult(event_id, kind, "ignored")
        async with self._sessions() as session:
            if await billing_queries.event_seen(session, event_id=event_id):
                return WebhookResult(event_id, kind, "duplicate")
        effect = await prepare(obj)  # Stripe calls, before the transaction
        if effect is None:
            return WebhookResult(event_id, kind, "ignored")
        try:
            async with self._sessions() as session:
                await billing_queries.record_event(session, event_id=event_id, type=kind)
                changed = await effect(session)
                if changed is None:
                    await session.rollback()
                    return WebhookResult(event_id, kind, "ignored")
                await session.commit()
        except IntegrityError:
            async with self._sessions() as session:
                if not await billing_queries.event_seen(session, event_id=event_id):
                    raise
            return WebhookResult(event_id, kind, "duplicate")
        for key_hash in changed:
            self._keys.forget(key_hash=key_hash)
        return WebhookResult(event_id, kind, "processed")

    def _verify(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        secret = self._settings.stripe_webhook_secret
        if secret is None:
            raise BillingNotConfigured(
                "Stripe webhooks are not configured: set VOXCLONE_BILLING__STRIPE_WEBHOOK_SECRET"
            )
        return self._stripe.verify_event(
            payload,
            signature,
            secret=secret.get_secret_value(),
            tolerance_s=self._settings.webhook_tolerance_s,
        )

    async def _checkout_completed(self, obj: Mapping[str, Any]) -> Effect | None:
        async with self._sessions() as session:
            checkout = await billing_queries.get_checkout_by_session(
                session, stripe_session_id=str(obj.get("id"))
            )
        if checkout is None or checkout.status != "pending":
            log.warning("checkout.session.completed: unknown or done session %s", obj.get("id"))
            return None
        subscription_id = obj.get("subscription")
        subscription = (
            await self._stripe.subscription(str(subscription_id)) if subscription_id else {}
        )
        period = subscription_period(subscription)
        plan = self.plan(checkout.price_id)
        limits = plan.model_dump(exclude={"price_id", "name"}) if plan else {}
        email, token_hash = checkout.email, checkout.token_hash

        async def issue(session: AsyncSession) -> list[str] | None:
            secret = generate_key()
            key = await key_queries.create_key(
                session,
                id=new_id(),
                label=f"{(plan.name if plan else '') or checkout.price_id} ({email})"[:200],
                key_hash=hash_key(secret),
                prefix=secret[:8],
                email=email,
                plan=checkout.price_id,
                stripe_customer_id=obj.get("customer"),
                stripe_subscription_id=subscription_id,
                period_start=period[0] if period else None,
                period_end=period[1] if period else None,
                **limits,
            )
            done = await billing_queries.complete_checkout(
                session, token_hash=token_hash, key_id=key.id, key_secret=secret
            )
            return [key.key_hash] if done else None

        return issue

    async def _subscription_updated(self, obj: Mapping[str, Any]) -> Effect | None:
        if obj.get("status") in REVOKING_STATUSES:
            return await self._subscription_deleted(obj)
        fields: dict[str, Any] = {}
        if (period := subscription_period(obj)) is not None:
            fields.update(period_start=period[0], period_end=period[1])
        price_id = subscription_price(obj)
        if (plan := self.plan(price_id)) is not None:
            fields.update(plan.model_dump(exclude={"price_id", "name"}), plan=price_id)

        async def sync(session: AsyncSession) -> list[str] | None:
            keys = await self._live_keys(session, str(obj.get("id")))
            for key in keys:
                await key_queries.update_key(session, key_id=key.id, **fields)
            return [key.key_hash for key in keys]

        return sync

    async def _subscription_deleted(self, obj: Mapping[str, Any]) -> Effect | None:
        async def revoke(session: AsyncSession) -> list[str] | None:
            keys = await self._live_keys(session, str(obj.get("id")))
            for key in keys:
                await key_queries.revoke_key(session, key_id=key.id)
            return [key.key_hash for key in keys]

        return revoke

    @staticmethod
    async def _live_keys(session: AsyncSession, subscription_id: str) -> list[ApiKey]:
        keys = await key_queries.find_keys(session, stripe_subscription_id=subscription_id)
        return [key for key in keys if key.revoked_at is None]
