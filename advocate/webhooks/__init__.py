"""Outbound webhooks: a firm's endpoints, signed deliveries, retries, replay."""

from flask import Blueprint

from advocate.auth.access import MANAGERS
from advocate.web import register_nav

bp = Blueprint("webhooks", __name__, url_prefix="/settings/webhooks")

register_nav(95, "Firm", "Webhooks", "webhooks.index", MANAGERS)

from advocate.webhooks import views  # noqa: E402,F401
