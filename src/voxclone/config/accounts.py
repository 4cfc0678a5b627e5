"""Accounts: per-key limits, webhooks both ways, signup and billing."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class QuotaSettings(BaseModel):
    """Server-wide defaults for the per-key limits; a key's own value wins (``PATCH
    /v1/keys/{id}``). None: unlimited."""

    monthly_char_quota: int | None = Field(
        None, ge=0, description="Characters per billing period for keys that set none."
    )
    rate_limit_per_minute: int | None = Field(
        None, ge=1, description="Requests per minute (moving window) for keys that set none."
    )
    max_concurrent_jobs: int | None = Field(
        None, ge=1, description="Jobs pending or running at once for keys that set none."
    )
    rate_limit_storage: Literal["auto", "memory", "redis"] = Field(
        "auto",
        description="Where rate-limit windows are counted: memory (this process) or redis "
        "(shared by every API host); auto: redis when VOXCLONE_REDIS_URL is set.",
    )
    usage_cache_s: float = Field(
        2.0,
        ge=0,
        description="How long an API host trusts a key's characters used this period before "
        "reading them again (its own syntheses are added at once); another host's use is "
        "seen within this time.",
    )


class WebhookSettings(BaseModel):
    """Outbound webhooks (``callback_url`` on job-creating requests) and URL fetching
    (``reference_audio_url``)."""

    allow_private_urls: bool = Field(
        False,
        description="Allow webhook and fetch URLs that resolve to loopback, private or "
        "link-local addresses (refused by default: SSRF).",
    )
    timeout_s: float = Field(10.0, gt=0, description="How long one delivery attempt may take.")
    max_age_s: float = Field(
        86400.0, gt=0, description="A delivery is retried with back-off for this long, then failed."
    )
    first_backoff_s: float = Field(5.0, gt=0, description="First wait before a retry; doubles.")
    max_backoff_s: float = Field(3600.0, gt=0, description="Longest wait between retries.")
    poll_s: float = Field(1.0, gt=0, description="How often due deliveries are looked for.")
    fetch_timeout_s: float = Field(
        30.0, gt=0, description="How long fetching a reference_audio_url may take in all."
    )
    public_url: str | None = Field(
        None,
        description="This server's base URL as webhook receivers reach it, for the audio_url "
        "of a delivered job; unset: audio_url is a path (/v1/jobs/{id}/audio).",
    )


class CallbackSettings(BaseModel):
    """Inbound completions from serverless engines (engine type ``callback``)."""

    public_url: str | None = Field(
        None,
        description="This server's base URL as a serverless engine reaches it (the callback_url "
        "it is sent); default http://HOST:PORT.",
    )
    timeout_s: float = Field(
        900.0, gt=0, description="A job whose completion has not come after this long fails."
    )
    check_s: float = Field(
        15.0, gt=0, description="How often each API host looks for jobs whose completion is late."
    )


class BillingPlan(BaseModel):
    price_id: str = Field(description="The Stripe Price id of the plan.")
    name: str = ""
    monthly_char_quota: int | None = Field(None, ge=0)
    rate_limit_per_minute: int | None = Field(None, ge=1)
    max_concurrent_jobs: int | None = Field(None, ge=1)


class BillingSettings(BaseModel):
    """Signup and Stripe billing: off unless ``stripe_secret_key`` is set."""

    stripe_secret_key: SecretStr | None = Field(None, description="Stripe secret key (sk_...).")
    stripe_webhook_secret: SecretStr | None = Field(
        None, description="Signing secret of the Stripe webhook endpoint (whsec_...)."
    )
    stripe_api_base: str | None = Field(
        None, description="Another Stripe API base URL (a test server such as localstripe)."
    )
    plans: list[BillingPlan] = Field(
        default_factory=list, description="Plans: a Stripe price id and the limits it grants."
    )
    app_base_url: str | None = Field(
        None, description="Public base URL for Checkout's success and cancel pages."
    )
    webhook_tolerance_s: int = Field(
        300, ge=1, description="Stripe webhook signatures older than this are refused."
    )

    @property
    def enabled(self) -> bool:
        return self.stripe_secret_key is not None
