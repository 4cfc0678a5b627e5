"""Signup and Stripe billing; mounted only when billing is on (``billing.stripe_secret_key``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from voxclone.api import billing_pages as pages
from voxclone.api.deps import ServicesDep
from voxclone.core.errors import NotFound
from voxclone.services.billing import BillingService

router = APIRouter(prefix="/v1", tags=["billing"])
NO_STORE = {"Cache-Control": "no-store"}


def get_billing(services: ServicesDep) -> BillingService:
    if services.billing is None:
        raise NotFound("billing is off on this server")
    return services.billing


BillingDep = Annotated[BillingService, Depends(get_billing)]


class CheckoutRequest(BaseModel):
    email: str = Field(max_length=320)
    price_id: str | None = Field(None, description="A configured plan; the first one if absent.")


class CheckoutUrl(BaseModel):
    url: str
    """Stripe's Checkout page, or /v1/checkout/already-subscribed for an active subscriber."""


class CheckoutReady(BaseModel):
    ready: bool
    """The key is issued (the browser may now load the page to see it)."""
    claimed: bool
    """The key was shown already."""


class WebhookReceived(BaseModel):
    received: bool = True
    event_id: str
    type: str
    outcome: Literal["processed", "duplicate", "ignored"]


@router.get("/signup", response_class=HTMLResponse)
async def signup(billing: BillingDep) -> HTMLResponse:
    return HTMLResponse(pages.signup_page(billing.plans))


@router.post("/checkout", response_model=CheckoutUrl)
async def checkout(body: CheckoutRequest, request: Request, billing: BillingDep) -> CheckoutUrl:
    """A Stripe Checkout Session for the plan. Its success URL carries a token that shows the
    new API key once at ``/v1/checkout/success``."""
    url = await billing.start_checkout(
        email=body.email, price_id=body.price_id, base_url=str(request.base_url)
    )
    return CheckoutUrl(url=url)


@router.get(
    "/checkout/success",
    response_class=HTMLResponse,
    responses={200: {"model": CheckoutReady, "description": "with Accept: application/json"}},
)
async def checkout_success(
    request: Request, billing: BillingDep, token: str = Query(min_length=1, max_length=200)
) -> Response:
    """In a browser: the new API key, the first time only (before Stripe's webhook has come,
    a page that refreshes itself). With ``Accept: application/json``: whether it is ready,
    without using up the one showing."""
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        state = await billing.checkout_state(token=token)
        ready = CheckoutReady(ready=state != "pending", claimed=state == "claimed")
        return JSONResponse(ready.model_dump(), headers=NO_STORE)
    claimed = await billing.claim_key(token=token)
    return HTMLResponse(pages.success_page(claimed), headers=NO_STORE)


@router.get("/checkout/already-subscribed", response_class=HTMLResponse)
async def already_subscribed(_billing: BillingDep) -> HTMLResponse:
    return HTMLResponse(pages.already_subscribed_page())


@router.post("/webhooks/stripe", response_model=WebhookReceived)
async def stripe_webhook(
    request: Request,
    billing: BillingDep,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> WebhookReceived:
    """Stripe's events, verified by ``Stripe-Signature`` and applied once each; other event
    types are acknowledged and ignored."""
    result = await billing.handle_webhook(payload=await request.body(), signature=stripe_signature)
    return WebhookReceived(event_id=result.event_id, type=result.type, outcome=result.outcome)
