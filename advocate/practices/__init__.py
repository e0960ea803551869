"""Practices: the provider practices a firm represents (NPI, TIN, address,
fee agreements, authorizations), and their read-only portal."""

from flask import Blueprint

from advocate.auth.access import PRACTICE, STAFF
from advocate.web import register_nav

bp = Blueprint("practices", __name__, url_prefix="/practices")
portal_bp = Blueprint("portal", __name__, url_prefix="/portal")

register_nav(10, "Practice", "Practices", "practices.index", STAFF)
register_nav(5, "Practice", "Your practice", "portal.home", PRACTICE)

from advocate.practices import portal, views  # noqa: E402,F401
