"""The Stripe payment provider: how the customer pays their part online.

Providers are the core hook ``payment_provider`` (:class:`bayline.plugin_api.PaymentProvider`): this
plugin provides :class:`StripeProvider` (the official ``stripe`` library, Checkout Sessions, webhooks
verified with the library's signature check) and uses whichever provider the shop's
``quotes.payment_provider`` names, from any plugin. Configuration is the platform operator's
(``plugin_config("quotes")``):

* ``BAYLINE_PLUGIN_QUOTES_STRIPE_SECRET_KEY``   - the secret API key (``sk_...``)
* ``BAYLINE_PLUGIN_QUOTES_STRIPE_WEBHOOK_SECRET`` - the endpoint's signing secret (``whsec_...``)
* ``BAYLINE_PLUGIN_QUOTES_STRIPE_API_BASE``     - optional: another API base (a local stand-in in tests)
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from babel.numbers import get_currency_precision

from bayline.plugin_api import CheckoutStart, PaidNotice, PaymentProvider, Refused, plugin_config

if TYPE_CHECKING:  # the SDK is imported by the first payment call, not with the app
    import stripe


def minor_units(amount: Decimal, currency: str) -> int:
    return int((amount * (10 ** get_currency_precision(currency))).to_integral_value())


class StripeProvider:
    """Stripe Checkout for the customer's part (``mode=payment``, one line item)."""

    name = "stripe"

    def _config(self) -> Any:
        return plugin_config("quotes")

    def configured(self) -> bool:
        cfg = self._config()
        return bool(cfg.get_str("stripe_secret_key") and cfg.get_str("stripe_webhook_secret"))

    def client(self) -> stripe.StripeClient:
        import stripe

        cfg = self._config()
        base = cfg.get_str("stripe_api_base")
        return stripe.StripeClient(cfg.require("stripe_secret_key"), max_network_retries=0,
                                   base_addresses={"api": base} if base else None)

    def start_checkout(self, *, amount: Decimal, currency: str, description: str, claim_id: int, shop_id: int,
                       success_url: str, cancel_url: str) -> CheckoutStart:
        import stripe

        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": currency.lower(), "unit_amount": minor_units(amount, currency),
                "product_data": {"name": description[:200]}}}],
            "success_url": success_url, "cancel_url": cancel_url,
            "client_reference_id": f"{shop_id}:{claim_id}",
            "metadata": {"shop_id": str(shop_id), "claim_id": str(claim_id)},
        }
        try:
            session = self.client().v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise Refused(502, "quotes_payment_provider_error",
                          f"The payment provider refused the payment: {exc.user_message or 'try again later'}.") \
                from None
        return CheckoutStart(ref=session.id, url=str(session.url))

    def parse_webhook(self, payload: bytes, headers: Any) -> PaidNotice | None:
        import stripe

        secret = self._config().require("stripe_webhook_secret")
        try:
            event = stripe.Webhook.construct_event(payload, headers.get("Stripe-Signature"), secret)
        except (ValueError, stripe.SignatureVerificationError):
            raise Refused(400, "quotes_bad_signature", "The webhook signature does not verify.") from None
        if event.type != "checkout.session.completed":
            return None
        obj = event.data.object.to_dict()
        if obj.get("payment_status") != "paid":
            return None
        currency = str(obj.get("currency") or "usd").upper()
        amount = Decimal(int(obj.get("amount_total") or 0)).scaleb(-get_currency_precision(currency))
        return PaidNotice(ref=str(obj["id"]), payment_ref=str(obj.get("payment_intent") or obj["id"]),
                          amount=amount, currency=currency)


STRIPE: PaymentProvider = StripeProvider()
