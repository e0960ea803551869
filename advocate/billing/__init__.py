"""Billing: what the firm earns on its cases and how it is invoiced.

``fees`` is the pure arithmetic; ``ledger`` writes what each payment earned;
``stripe_api`` and ``invoicing`` bill practices on the firm's Stripe account;
``webhooks`` takes Stripe's news back; ``api`` is imported by ``advocate.api``.
Views are imported by ``blueprints()``
(not at import time: the practices models import ``billing.fees``).
"""

from flask import Blueprint

from advocate.auth.access import MANAGERS, PRACTICE, STAFF
from advocate.web import register_nav

bp = Blueprint("billing", __name__, url_prefix="/billing")
webhook_bp = Blueprint("stripe_webhook", __name__, url_prefix="/stripe")

register_nav(40, "Firm", "Billing", "billing.invoices", STAFF)
register_nav(45, "Firm", "Stripe account", "billing.stripe_settings", MANAGERS)
register_nav(20, "Practice", "Fee statements", "billing.portal_statements", PRACTICE)


def blueprints() -> tuple[Blueprint, ...]:
    from advocate.billing import cli, views, webhooks  # noqa: F401

    return bp, webhook_bp
