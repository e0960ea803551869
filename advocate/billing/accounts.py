"""The firm's Stripe account: Connect onboarding by account link, or a
firm-level test key (the embedded default).  Services flush, never commit."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from advocate.audit.services import audit
from advocate.billing.models import StripeAccount
from advocate.billing.stripe_api import encrypt_key, idempotency_key, platform_client
from advocate.extensions import db
from tenants.models import Tenant


class AccountError(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(message)


def firm_account() -> StripeAccount | None:
    return db.session.scalar(select(StripeAccount))


def _account_row(tenant_id: int) -> StripeAccount:
    row = firm_account()
    if row is None:
        row = StripeAccount(tenant_id=tenant_id, mode="connect")
        db.session.add(row)
    return row


def set_test_key(
    tenant_id: int, key: str, *, days_until_due: int, actor_id: int | None
) -> StripeAccount:
    """Bill on the firm's own Stripe test account (no Connect)."""
    key = (key or "").strip()
    if not key.startswith(("sk_test_", "rk_test_")) or len(key) < 12 or len(key) > 255:
        raise AccountError("api_key", "Enter a Stripe test secret key (sk_test_…).")
    row = _account_row(tenant_id)
    row.mode = "key"
    row.api_key_enc = encrypt_key(key)
    row.api_key_last4 = key[-4:]
    row.days_until_due = days_until_due
    db.session.flush()
    audit(
        "stripe_account.test_key_set", row, details={"last4": row.api_key_last4}, user_id=actor_id
    )
    return row


def start_onboarding(
    tenant: Tenant, *, return_url: str, refresh_url: str, actor_id: int | None
) -> str:
    """Create (once) the firm's Connect account and return an onboarding link."""
    client = platform_client()
    row = _account_row(tenant.id)
    if row.mode != "connect" or not row.account_id:
        account = client.v1.accounts.create(
            {"type": "standard", "metadata": {"advocate_tenant": str(tenant.id)}},
            {"idempotency_key": idempotency_key(f"t{tenant.id}", "connect-account")},
        )
        row.mode = "connect"
        row.account_id = account.id
        row.api_key_enc = None
        row.api_key_last4 = None
        tenant.stripe_account_id = account.id  # webhooks find the firm by it (unscoped)
        db.session.flush()
        audit("stripe_account.connected", row, details={"account": account.id}, user_id=actor_id)
    link = client.v1.account_links.create(
        {
            "account": row.account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
    )
    return link.url


def apply_account(row: StripeAccount, obj, *, at: datetime | None = None) -> None:
    """Copy a Connect account's status; an older event than the last applied is skipped."""
    if at is not None and row.account_synced_at is not None and at < row.account_synced_at:
        return
    row.charges_enabled = bool(obj.charges_enabled)
    row.payouts_enabled = bool(obj.payouts_enabled)
    row.details_submitted = bool(obj.details_submitted)
    row.account_synced_at = at or datetime.now(UTC)


def refresh_account(row: StripeAccount) -> None:
    """Re-read the Connect account from Stripe (after onboarding returns)."""
    if row.mode != "connect" or not row.account_id:
        return
    obj = platform_client().v1.accounts.retrieve(row.account_id)
    apply_account(row, obj)
    db.session.flush()
