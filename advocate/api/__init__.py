"""JSON API under /api/v1, authenticated by bearer tokens only (no cookies,
so no CSRF exposure)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from advocate.api import auth, views  # noqa: E402,F401
from advocate.billing import api as billing_api  # noqa: E402,F401
from advocate.cases import api as cases_api  # noqa: E402,F401
from advocate.deadlines import api as deadlines_api  # noqa: E402,F401
from advocate.deadlines import case_api as case_deadlines_api  # noqa: E402,F401
from advocate.documents import api as documents_api  # noqa: E402,F401
from advocate.imports import api as imports_api  # noqa: E402,F401
from advocate.imports import claims837_api  # noqa: E402,F401
from advocate.letters import api as letters_api  # noqa: E402,F401
from advocate.payers import api as payers_api  # noqa: E402,F401
from advocate.practices import api as practices_api  # noqa: E402,F401
from advocate.rates import api as rates_api  # noqa: E402,F401
