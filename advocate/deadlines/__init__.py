"""Deadline rules: business-day calendars and the statutory timelines built on them.

The pure rules live in ``calendar``, ``nsa`` and ``eligibility``; this package
is also the ``deadlines`` blueprint: the firm's closure days and specified
state laws, and the NSA calculator (its API is in ``advocate.deadlines.api``).
"""

from flask import Blueprint

from advocate.auth.access import MANAGERS, STAFF
from advocate.web import register_nav

bp = Blueprint("deadlines", __name__, url_prefix="/deadlines")

register_nav(40, "Work", "NSA calculator", "deadlines.calculator", STAFF)
register_nav(50, "Firm", "Closure days", "deadlines.closures", MANAGERS)
register_nav(55, "Firm", "State surprise-billing laws", "deadlines.state_laws", MANAGERS)

from advocate.deadlines import views  # noqa: E402,F401
