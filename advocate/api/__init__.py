"""JSON API under /api/v1, authenticated by bearer tokens only (no cookies,
so no CSRF exposure)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from advocate.api import auth, views  # noqa: E402,F401
