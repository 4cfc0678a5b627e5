"""The pure parts of billing: reading Stripe's objects, verifying signatures, settings."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest

from voxclone.config import Settings
from voxclone.core.errors import InvalidInput, InvalidSignature
from voxclone.services.billing import subscription_period, subscription_price
from voxclone.services.stripe_api import StripeApi

SECRET = "whsec_unit"
START, END = 1_800_000_000, 1_802_592_000


def signed(payload: bytes, *, secret: str = SECRET, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def test_the_period_is_read_from_the_subscription_or_its_first_item() -> None:
    expected = (datetime.fromtimestamp(START, UTC), datetime.fromtimestamp(END, UTC))
    old = {"current_period_start": START, "current_period_end": END}
    new = {"items": {"data": [{"current_period_start": START, "current_period_end": END}]}}
    assert subscription_period(old) == expected
    assert subscription_period(new) == expected
    assert expected[0].tzinfo is UTC
    assert subscription_period({"items": {"data": []}}) is None
    assert subscription_period({"current_period_start": START}) is None


def test_the_price_is_read_from_price_or_plan() -> None:
    assert subscription_price({"items": {"data": [{"price": {"id": "price_a"}}]}}) == "price_a"
    assert subscription_price({"items": {"data": [{"plan": {"id": "price_b"}}]}}) == "price_b"
    assert subscription_price({}) is None


def test_a_signature_made_with_the_secret_verifies() -> None:
    payload = json.dumps({"id": "evt_1", "type": "x", "data": {"object": {}}}).encode()
    event = StripeApi.verify_event(payload, signed(payload), secret=SECRET, tolerance_s=300)
    assert event["id"] == "evt_1"


@pytest.mark.parametrize(
    "header",
    [
        signed(b"{}", secret="whsec_other"),
        signed(b"{}", at=int(time.time()) - 301),
        signed(b"{} "),
        "t=123",
        "",
        None,
    ],
)
def test_forged_stale_or_missing_signatures_are_refused(header: str | None) -> None:
    with pytest.raises(InvalidSignature) as caught:
        StripeApi.verify_event(b"{}", header, secret=SECRET, tolerance_s=300)
    assert caught.value.code == "invalid_signature" and caught.value.message


def test_a_signed_body_that_is_not_json_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not JSON"):
        StripeApi.verify_event(b"nope", signed(b"nope"), secret=SECRET, tolerance_s=300)


def test_billing_is_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXCLONE_BILLING__STRIPE_SECRET_KEY", "sk_test_env")
    monkeypatch.setenv("VOXCLONE_BILLING__STRIPE_WEBHOOK_SECRET", "whsec_env")
    monkeypatch.setenv(
        "VOXCLONE_BILLING__PLANS",
        '[{"price_id": "price_h", "name": "Hobby", "monthly_char_quota": 100000}]',
    )
    billing = Settings(_env_file=None).billing  # type: ignore[call-arg]
    assert billing.enabled
    assert billing.plans[0].price_id == "price_h" and billing.plans[0].monthly_char_quota == 100000
    assert billing.webhook_tolerance_s == 300
    monkeypatch.delenv("VOXCLONE_BILLING__STRIPE_SECRET_KEY")
    assert not Settings(_env_file=None).billing.enabled  # type: ignore[call-arg]
