"""localstripe, a stateful fake Stripe API, with the Checkout Sessions it lacks.

Run as ``python -m tests.stripe_server --port N`` (``StripeServer`` does it on a free loopback
port). localstripe 1.15 implements customers, plans, subscriptions and webhook delivery
(``POST /_config/webhooks/{id}``, signed ``t=...,v1=...`` like Stripe's) but neither Prices nor
Checkout; this adds, on localstripe's own store and event machinery:

- ``POST /v1/checkout/sessions`` (``mode=subscription``, one line item whose ``price`` is a
  localstripe Plan id: an unknown one is Stripe's 400 ``No such price``) and
  ``GET /v1/checkout/sessions/{id}``;
- ``POST /_config/checkout/sessions/{id}/pay``: what the customer does on Stripe's hosted page.
  It creates the customer and the subscription in the store (so localstripe sends
  ``customer.subscription.created``), completes the session and sends
  ``checkout.session.completed`` to the registered webhooks.

localstripe writes its store to ``/tmp/localstripe.pickle`` after every change; this server
keeps it in memory only, so parallel test runs do not share (or clobber) one file.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]


def _serve(port: int) -> None:
    from aiohttp import web
    from localstripe import resources, server
    from localstripe.errors import UserError

    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]

    class CheckoutSession(resources.StripeObject):  # type: ignore[misc]
        object = "checkout.session"
        _id_prefix = "cs_test_"

        def __init__(self, **data: Any) -> None:
            items = data.get("line_items") or []
            if data.get("mode") != "subscription" or len(items) != 1:
                raise UserError(400, "only mode=subscription with one line item is supported")
            price = items[0].get("price")
            if resources.store.get(f"plan:{price}") is None:
                raise UserError(400, f"No such price: '{price}'")
            super().__init__()
            self.mode = "subscription"
            self.status = "open"
            self.payment_status = "unpaid"
            self.url = f"https://checkout.stripe.test/pay/{self.id}"
            self.success_url = data.get("success_url")
            self.cancel_url = data.get("cancel_url")
            self.customer_email = data.get("customer_email")
            self.client_reference_id = data.get("client_reference_id")
            self.metadata = data.get("metadata") or {}
            self.customer = None
            self.subscription = None
            self._price = price

        def _pay(self) -> None:
            if self.status != "open":
                raise UserError(400, f"checkout session {self.id} is {self.status}")
            customer = resources.Customer(email=self.customer_email)
            subscription = resources.Subscription(
                customer=customer.id, items=[{"plan": self._price}]
            )
            self.customer, self.subscription = customer.id, subscription.id
            self.status, self.payment_status = "complete", "paid"
            resources.schedule_webhook(resources.Event("checkout.session.completed", self))

    async def create(request: web.Request) -> web.Response:
        data = await server.get_post_data(request) or {}
        return server.json_response(CheckoutSession(**data)._export())

    async def retrieve(request: web.Request) -> web.Response:
        return server.json_response(
            CheckoutSession._api_retrieve(request.match_info["id"])._export()
        )

    async def pay(request: web.Request) -> web.Response:
        session = CheckoutSession._api_retrieve(request.match_info["id"])
        session._pay()
        return server.json_response(session._export())

    server.app.router.add_post("/v1/checkout/sessions", create)
    server.app.router.add_get("/v1/checkout/sessions/{id}", retrieve)
    server.app.router.add_post("/_config/checkout/sessions/{id}/pay", pay)
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


class StripeServer:
    """The fake Stripe server above as a subprocess on a free loopback port."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> StripeServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.stripe_server", "--port", str(self.port)],
            cwd=REPO,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("the fake Stripe server exited at start")
            try:
                httpx.get(f"{self.url}/v1/plans", headers=self.auth, timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the fake Stripe server did not start in 30 s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    auth = {"Authorization": "Bearer sk_test_fake"}

    def post(self, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        r = httpx.post(f"{self.url}{path}", data=data, headers=self.auth, timeout=10)
        r.raise_for_status()
        body: dict[str, Any] = r.json() if r.content.strip() else {}
        return body

    def get(self, path: str) -> dict[str, Any]:
        r = httpx.get(f"{self.url}{path}", headers=self.auth, timeout=10)
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body

    def delete(self, path: str) -> dict[str, Any]:
        r = httpx.delete(f"{self.url}{path}", headers=self.auth, timeout=10)
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    _serve(parser.parse_args().port)
