"""The one place the app talks to Stripe (stripe-python 16, ``StripeClient``).

A firm is paid on its own Stripe account: a Connect account (the platform key
``STRIPE_API_KEY`` with ``Stripe-Account: acct_...``), or, in the embedded
default, a firm-level test key kept encrypted.  ``STRIPE_API_BASE`` points
stripe-python elsewhere (the local test servers).

Every creating call carries an idempotency key derived from the business
identity (firm, practice, period or settlement), so a retry after a crash
returns the first object instead of making a second one.  stripe-python 16
objects are not dicts: read attributes, or ``to_dict()``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import stripe
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from advocate.billing.models import StripeAccount

TIMEOUT_SECONDS = 20
NETWORK_RETRIES = 2  # stripe-python retries with the same idempotency key


class StripeNotConfigured(RuntimeError):
    """The firm has no usable Stripe account yet."""


def _fernet() -> Fernet:
    key = hashlib.sha256(b"advocate-stripe:" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_key(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_key(blob: str | None) -> str | None:
    if not blob:
        return None
    try:
        return _fernet().decrypt(blob.encode()).decode()
    except InvalidToken:
        return None


def platform_client() -> stripe.StripeClient:
    key = current_app.config.get("STRIPE_API_KEY")
    if not key:
        raise StripeNotConfigured("Stripe is not configured (STRIPE_API_KEY).")
    return _client(key)


def _client(api_key: str) -> stripe.StripeClient:
    base = current_app.config.get("STRIPE_API_BASE")
    kwargs: dict[str, Any] = {
        "max_network_retries": NETWORK_RETRIES,
        "http_client": stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    }
    if base:
        kwargs["base_addresses"] = {"api": base.rstrip("/")}
    return stripe.StripeClient(api_key, **kwargs)


@dataclass
class FirmStripe:
    """A client and the request options that put calls on the firm's account."""

    client: stripe.StripeClient
    account_id: str | None

    def options(self, idempotency_key: str | None = None) -> dict:
        opts: dict[str, Any] = {}
        if self.account_id:
            opts["stripe_account"] = self.account_id
        if idempotency_key:
            opts["idempotency_key"] = idempotency_key
        return opts


def firm_stripe(account: StripeAccount | None) -> FirmStripe:
    if account is None:
        raise StripeNotConfigured("Connect the firm's Stripe account first.")
    if account.mode == "key":
        key = decrypt_key(account.api_key_enc)
        if not key:
            raise StripeNotConfigured("The firm's Stripe test key is missing; enter it again.")
        return FirmStripe(_client(key), None)
    if not account.account_id:
        raise StripeNotConfigured("Connect the firm's Stripe account first.")
    if not account.charges_enabled:
        raise StripeNotConfigured("The firm's Stripe account has not finished onboarding.")
    return FirmStripe(platform_client(), account.account_id)


def idempotency_key(*parts: object) -> str:
    """A stable key from the business identity; Stripe allows 255 characters."""
    raw = ":".join(str(p) for p in parts)
    if len(raw) <= 200:
        return f"advocate:{raw}"
    return "advocate:" + hashlib.sha256(raw.encode()).hexdigest()


def error_message(err: stripe.StripeError) -> str:
    """What to show a person: Stripe's own message, never the key."""
    return (getattr(err, "user_message", None) or str(err) or type(err).__name__)[:300]
