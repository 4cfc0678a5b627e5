"""The calls voxclone makes to Stripe, through the official ``stripe`` library.

The one module that imports ``stripe`` (lazily: a server with billing off never loads it) and
the one place its errors become voxclone errors. Objects come back as plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from voxclone.core.errors import InvalidInput, InvalidSignature, PaymentProviderError

if TYPE_CHECKING:
    import stripe


class StripeApi:
    def __init__(self, *, secret_key: str, api_base: str | None = None) -> None:
        self._secret_key = secret_key
        self._api_base = api_base
        self._client: stripe.StripeClient | None = None
        self._http: stripe.HTTPXClient | None = None

    async def create_checkout_session(
        self, *, price_id: str, email: str, success_url: str, cancel_url: str
    ) -> tuple[str, str]:
        """A subscription Checkout Session for one unit of the price: its id and its URL."""
        import stripe

        try:
            created = await self._stripe().v1.checkout.sessions.create_async(
                params={
                    "mode": "subscription",
                    "line_items": [{"price": price_id, "quantity": 1}],
                    "customer_email": email,
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                    "metadata": {"voxclone_price_id": price_id},
                }
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(
                f"Stripe did not create the checkout session: {exc.user_message or exc}",
                stripe_status=exc.http_status,
            ) from exc
        if not created.url:
            raise PaymentProviderError("Stripe created a checkout session without a URL")
        return created.id, created.url

    async def subscription(self, subscription_id: str) -> dict[str, Any]:
        import stripe

        try:
            found = await self._stripe().v1.subscriptions.retrieve_async(subscription_id)
        except stripe.StripeError as exc:
            raise PaymentProviderError(
                f"could not read subscription {subscription_id} from Stripe: "
                f"{exc.user_message or exc}",
                stripe_status=exc.http_status,
            ) from exc
        return found.to_dict()

    @staticmethod
    def verify_event(
        payload: bytes, signature: str | None, *, secret: str, tolerance_s: int
    ) -> dict[str, Any]:
        """The event in a webhook body, once its ``Stripe-Signature`` (HMAC-SHA256 of
        ``"{t}.{body}"`` with the endpoint's secret, ``t`` within ``tolerance_s``) checks out."""
        import stripe

        if not signature:
            raise InvalidSignature("the Stripe-Signature header is missing")
        try:
            event: stripe.Event = stripe.Webhook.construct_event(
                payload, signature, secret, tolerance=tolerance_s
            )
        except stripe.SignatureVerificationError as exc:
            raise InvalidSignature(f"Stripe signature refused: {exc.user_message}") from exc
        except ValueError as exc:
            raise InvalidInput("the webhook body is not JSON") from exc
        return event.to_dict()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close_async()  # type: ignore[no-untyped-call]
            self._http = self._client = None

    def _stripe(self) -> stripe.StripeClient:
        if self._client is None:
            import stripe

            class HTTPXClient(stripe.HTTPXClient):
                """stripe's httpx client, sending the form body as ``content=`` (httpx
                deprecates ``data=`` with a string, and tests turn warnings into errors)."""

                def _get_request_args_kwargs(
                    self, method: str, url: str, headers: Mapping[str, str], post_data: Any
                ) -> Any:
                    args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
                    kwargs["content"] = kwargs.pop("data") or None
                    return args, kwargs

            self._http = HTTPXClient(timeout=30)
            self._client = stripe.StripeClient(
                self._secret_key,
                base_addresses={"api": self._api_base} if self._api_base else {},
                http_client=self._http,
            )
        return self._client
