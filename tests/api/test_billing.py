"""Signup and Stripe billing through HTTP, against localstripe (a stateful fake Stripe API, with
Checkout added by ``tests.stripe_server``) on loopback, driven by the official ``stripe`` client.

Webhook events are built here as Stripe sends them and signed by hand (HMAC-SHA256, the
``t=...,v1=...`` scheme); one test lets localstripe deliver its own signed events instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import REPO, fake_registry, make_settings
from tests.remote.servers import ThreadServer
from tests.stripe_server import StripeServer
from voxclone.api.app import create_app
from voxclone.config import Settings
from voxclone.services.container import build_services

WHSEC = "whsec_test_billing_secret"
PLANS = [
    {"price_id": "price_hobby", "name": "Hobby", "monthly_char_quota": 1000},
    {
        "price_id": "price_pro",
        "name": "Pro",
        "monthly_char_quota": 50000,
        "rate_limit_per_minute": 5,
    },
    {"price_id": "price_not_in_stripe", "name": "Ghost", "monthly_char_quota": 1},
]
KEY = re.compile(r'<code id="api-key">([^<]+)</code>')


def add_plans(server: StripeServer) -> None:
    for plan in PLANS[:2]:
        server.post(
            "/v1/plans",
            {
                "id": plan["price_id"],
                "amount": 0,
                "currency": "usd",
                "interval": "month",
                "product[name]": str(plan["name"]),
            },
        )


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[StripeServer]:
    server = StripeServer().start()
    add_plans(server)
    yield server
    server.stop()


def billing_settings(data_dir: Path, database_url: str, api_base: str, **billing: Any) -> Settings:
    values = {
        "stripe_secret_key": "sk_test_voxclone",
        "stripe_webhook_secret": WHSEC,
        "stripe_api_base": api_base,
        "plans": PLANS,
        **billing,
    }
    return make_settings(data_dir, database_url=database_url, billing=values)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, stripe_server: StripeServer) -> Settings:
    return billing_settings(tmp_path / "data", database_url, stripe_server.url)


def sign(payload: bytes, *, secret: str = WHSEC, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    body = {
        "id": event_id or f"evt_{hashlib.sha1(json.dumps(obj).encode()).hexdigest()[:14]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
    return json.dumps(body).encode()


async def post_event(client: httpx.AsyncClient, payload: bytes, **sign_args: Any) -> httpx.Response:
    headers = {"Stripe-Signature": sign(payload, **sign_args), "Content-Type": "application/json"}
    return await client.post("/v1/webhooks/stripe", content=payload, headers=headers)


async def start_checkout(
    client: httpx.AsyncClient, server: StripeServer, email: str, price_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    """POST /v1/checkout, then pay on the fake Stripe: the success URL's token, the session."""
    r = await client.post("/v1/checkout", json={"email": email, "price_id": price_id})
    assert r.status_code == 200, r.text
    session_id = r.json()["url"].rsplit("/", 1)[1]
    session = server.post(f"/_config/checkout/sessions/{session_id}/pay")
    assert session["status"] == "complete" and session["subscription"].startswith("sub_")
    token = parse_qs(urlsplit(session["success_url"]).query)["token"][0]
    return token, session


async def issued_key(
    client: httpx.AsyncClient, server: StripeServer, email: str, price_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    token, session = await start_checkout(client, server, email, price_id)
    r = await post_event(client, event("checkout.session.completed", session))
    assert r.status_code == 200 and r.json()["outcome"] == "processed", r.text
    page = await client.get("/v1/checkout/success", params={"token": token})
    match = KEY.search(page.text)
    assert match, page.text
    return match.group(1), session


async def key_record(
    client: httpx.AsyncClient, admin: dict[str, str], email: str
) -> dict[str, Any]:
    r = await client.get("/v1/keys", headers=admin)
    found = [k for k in r.json() if k["email"] == email]
    assert len(found) == 1, found
    record: dict[str, Any] = found[0]
    return record


async def test_checkout_issues_the_plan_key_and_shows_it_once(
    client: httpx.AsyncClient, stripe_server: StripeServer, admin_headers: dict[str, str]
) -> None:
    token, session = await start_checkout(client, stripe_server, "Ada@Example.com", "price_pro")
    success = {"token": token}
    json_accept = {"Accept": "application/json"}

    r = await client.get("/v1/checkout/success", params=success, headers=json_accept)
    assert r.json() == {"ready": False, "claimed": False}
    r = await client.get("/v1/checkout/success", params=success)
    assert r.status_code == 200 and 'http-equiv="refresh"' in r.text and not KEY.search(r.text)

    r = await post_event(client, event("checkout.session.completed", session))
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "processed"
    r = await client.get("/v1/checkout/success", params=success, headers=json_accept)
    assert r.json() == {"ready": True, "claimed": False}

    r = await client.get("/v1/checkout/success", params=success)
    assert r.headers["cache-control"] == "no-store"
    match = KEY.search(r.text)
    assert match and match.group(1).startswith("vx_"), r.text
    key = match.group(1)
    assert (await client.get("/v1/voices", headers={"Authorization": f"Bearer {key}"})).is_success

    record = await key_record(client, admin_headers, "ada@example.com")
    assert record["plan"] == "price_pro"
    assert record["monthly_char_quota"] == 50000 and record["rate_limit_per_minute"] == 5
    subscription = stripe_server.get(f"/v1/subscriptions/{session['subscription']}")
    assert record["period_start"].startswith(
        time.strftime("%Y-%m-%dT%H:%M", time.gmtime(subscription["current_period_start"]))
    )

    again = await client.get("/v1/checkout/success", params=success)
    assert again.status_code == 200 and key not in again.text and not KEY.search(again.text)
    assert "already" in again.text
    r = await client.get("/v1/checkout/success", params=success, headers=json_accept)
    assert r.json() == {"ready": True, "claimed": True}
    r = await client.get("/v1/checkout/success", params={"token": "not-a-token"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"


async def test_an_active_subscriber_is_sent_to_already_subscribed(
    client: httpx.AsyncClient, stripe_server: StripeServer
) -> None:
    await issued_key(client, stripe_server, "grace@example.com")
    r = await client.post("/v1/checkout", json={"email": " GRACE@example.com "})
    assert r.status_code == 200
    url = r.json()["url"]
    assert url == "http://test/v1/checkout/already-subscribed"
    page = await client.get(urlsplit(url).path)
    assert page.status_code == 200 and "Already subscribed" in page.text


async def test_an_event_is_applied_once(
    client: httpx.AsyncClient, stripe_server: StripeServer, admin_headers: dict[str, str]
) -> None:
    _token, session = await start_checkout(client, stripe_server, "dup@example.com")
    payload = event("checkout.session.completed", session, event_id="evt_dup_1")
    first, second = await asyncio.gather(post_event(client, payload), post_event(client, payload))
    assert sorted([first.json()["outcome"], second.json()["outcome"]]) == [
        "duplicate",
        "processed",
    ]
    r = await post_event(client, payload)
    assert r.status_code == 200 and r.json()["outcome"] == "duplicate"
    # Another event about the same, already completed, checkout issues nothing either.
    r = await post_event(client, event("checkout.session.completed", session, "evt_dup_2"))
    assert r.json()["outcome"] == "ignored"
    await key_record(client, admin_headers, "dup@example.com")  # exactly one key


async def test_subscription_updates_sync_the_period_and_unpaid_revokes(
    client: httpx.AsyncClient, stripe_server: StripeServer, admin_headers: dict[str, str]
) -> None:
    key, session = await issued_key(client, stripe_server, "lin@example.com")
    auth = {"Authorization": f"Bearer {key}"}
    subscription = stripe_server.get(f"/v1/subscriptions/{session['subscription']}")

    # Newer Stripe API versions keep the period on the subscription's items only.
    start, end = 1_900_000_000, 1_902_678_400
    moved = {k: v for k, v in subscription.items() if not k.startswith("current_period")}
    moved["items"]["data"][0].update(current_period_start=start, current_period_end=end)
    r = await post_event(client, event("customer.subscription.updated", moved))
    assert r.json()["outcome"] == "processed", r.text
    record = await key_record(client, admin_headers, "lin@example.com")
    assert record["period_start"].startswith("2030-03-17T17:46:40")
    assert record["period_end"].startswith("2030-04-17T17:46:40")
    assert record["revoked_at"] is None
    assert (await client.get("/v1/voices", headers=auth)).status_code == 200

    unpaid = {**subscription, "status": "unpaid"}
    r = await post_event(client, event("customer.subscription.updated", unpaid))
    assert r.json()["outcome"] == "processed"
    r = await client.get("/v1/voices", headers=auth)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


async def test_subscription_deleted_revokes(
    client: httpx.AsyncClient, stripe_server: StripeServer, admin_headers: dict[str, str]
) -> None:
    key, session = await issued_key(client, stripe_server, "del@example.com")
    deleted = stripe_server.delete(f"/v1/subscriptions/{session['subscription']}")
    r = await post_event(client, event("customer.subscription.deleted", deleted))
    assert r.json()["outcome"] == "processed"
    r = await client.get("/v1/voices", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401
    assert (await key_record(client, admin_headers, "del@example.com"))["revoked_at"]
    # Signing up again is possible once the old subscription is over.
    r = await client.post("/v1/checkout", json={"email": "del@example.com"})
    assert "checkout.stripe.test" in r.json()["url"]


async def test_forged_or_stale_signatures_are_refused_and_change_nothing(
    client: httpx.AsyncClient, stripe_server: StripeServer
) -> None:
    token, session = await start_checkout(client, stripe_server, "eve@example.com")
    payload = event("checkout.session.completed", session, event_id="evt_forged")
    attempts = [
        {"Stripe-Signature": sign(payload, secret="whsec_someone_else")},
        {"Stripe-Signature": sign(payload, at=int(time.time()) - 301)},
        {"Stripe-Signature": sign(payload + b" ")},
        {"Stripe-Signature": "t=1,v1=00"},
        {},
    ]
    for headers in attempts:
        r = await client.post("/v1/webhooks/stripe", content=payload + b"\n", headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_signature", r.text
        assert r.json()["message"]
    ready = await client.get(
        "/v1/checkout/success", params={"token": token}, headers={"Accept": "application/json"}
    )
    assert ready.json() == {"ready": False, "claimed": False}
    # The same event, signed properly, is still new: nothing was recorded.
    r = await post_event(client, payload)
    assert r.json()["outcome"] == "processed"


async def test_other_events_are_acknowledged_and_ignored(client: httpx.AsyncClient) -> None:
    r = await post_event(client, event("invoice.paid", {"id": "in_1"}, "evt_other"))
    assert r.status_code == 200
    assert r.json() == {
        "received": True,
        "event_id": "evt_other",
        "type": "invoice.paid",
        "outcome": "ignored",
    }
    payload = b"not json"
    r = await client.post(
        "/v1/webhooks/stripe", content=payload, headers={"Stripe-Signature": sign(payload)}
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_checkout_refuses_bad_input(
    client: httpx.AsyncClient, stripe_server: StripeServer
) -> None:
    r = await client.post("/v1/checkout", json={"email": "not-an-email"})
    assert r.status_code == 400 and r.json()["details"]["field"] == "email"
    r = await client.post("/v1/checkout", json={"email": "a@example.com", "price_id": "price_x"})
    assert r.status_code == 400 and "price_hobby" in r.json()["details"]["allowed"]
    # A plan configured here but unknown to Stripe: Stripe's refusal, translated.
    r = await client.post(
        "/v1/checkout", json={"email": "a@example.com", "price_id": "price_not_in_stripe"}
    )
    assert r.status_code == 502 and r.json()["error"] == "payment_provider_error"
    assert "No such price" in r.json()["message"]
    signup = await client.get("/v1/signup")
    assert signup.status_code == 200 and 'value="price_pro"' in signup.text
    assert "<script src" not in signup.text and "<link" not in signup.text
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/v1/signup", "/v1/checkout", "/v1/checkout/success", "/v1/webhooks/stripe"} <= set(
        paths
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_without_plans_checkout_explains(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        tmp_path / "data",
        database_url=database_url,
        billing={"stripe_secret_key": "sk_test_x", "stripe_webhook_secret": WHSEC},
    )
    app = create_app(services=build_services(settings, engines=fake_registry()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            r = await client.post("/v1/checkout", json={"email": "a@example.com"})
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "billing_not_configured"
            assert "VOXCLONE_BILLING__PLANS" in r.json()["message"]
            signup = await client.get("/v1/signup")
            assert signup.status_code == 200 and "no plan is configured" in signup.text
            r = await post_event(client, event("invoice.paid", {"id": "in_1"}))
            assert r.json()["outcome"] == "ignored"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_billing_off_leaves_no_trace(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path / "data", database_url=database_url)
    services = build_services(settings, engines=fake_registry())
    assert services.billing is None
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for method, path in [
                ("GET", "/v1/signup"),
                ("POST", "/v1/checkout"),
                ("GET", "/v1/checkout/success?token=x"),
                ("GET", "/v1/checkout/already-subscribed"),
                ("POST", "/v1/webhooks/stripe"),
            ]:
                assert (await client.request(method, path)).status_code == 404, path
            paths = (await client.get("/openapi.json")).json()["paths"]
            assert not [p for p in paths if "checkout" in p or "signup" in p or "stripe" in p]


def test_billing_off_never_imports_stripe(tmp_path: Path) -> None:
    probe = (
        "import sys; from pathlib import Path; from voxclone.api.app import create_app; "
        "from voxclone.services.container import build_services; "
        "from tests.conftest import make_settings, fake_registry; "
        f"s = make_settings(Path({str(tmp_path / 'data')!r})); "
        "create_app(services=build_services(s, engines=fake_registry())); "
        "print('stripe' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False", out.stderr


async def test_localstripe_delivers_signed_events_end_to_end(
    tmp_path: Path, database_url: str
) -> None:
    """Stripe's side for real: localstripe signs and sends checkout.session.completed (and
    customer.*, invoice.* events, ignored) to a live server, then customer.subscription.deleted
    when the subscription is cancelled."""
    own = StripeServer().start()  # its webhook registration must not reach other tests
    try:
        add_plans(own)
        settings = billing_settings(tmp_path / "data", database_url, own.url)
        app = create_app(services=build_services(settings, engines=fake_registry()))
        with ThreadServer(app) as url:
            own.post(
                "/_config/webhooks/voxclone", {"url": f"{url}/v1/webhooks/stripe", "secret": WHSEC}
            )
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                token, session = await start_checkout(client, own, "e2e@example.com")
                success = {"token": token}
                ready = await poll(
                    lambda: client.get(
                        "/v1/checkout/success",
                        params=success,
                        headers={"Accept": "application/json"},
                    ),
                    lambda r: r.json()["ready"],
                )
                assert ready.json() == {"ready": True, "claimed": False}
                match = KEY.search((await client.get("/v1/checkout/success", params=success)).text)
                assert match
                auth = {"Authorization": f"Bearer {match.group(1)}"}
                assert (await client.get("/v1/voices", headers=auth)).status_code == 200

                own.delete(f"/v1/subscriptions/{session['subscription']}")
                await poll(
                    lambda: client.get("/v1/voices", headers=auth), lambda r: r.status_code == 401
                )
    finally:
        own.stop()


async def poll(request: Any, done: Any, timeout_s: float = 20) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        r: httpx.Response = await request()
        if done(r):
            return r
        if time.monotonic() > deadline:
            raise AssertionError(f"not done in {timeout_s} s: {r.status_code} {r.text}")
        await asyncio.sleep(0.2)
