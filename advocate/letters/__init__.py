"""Letters: firm templates (copies of system templates, versioned, rendered in
a sandbox), PDF letters on the firm's letterhead filed as case documents, and
bulk batches rendered by RQ workers (inline without Redis)."""

from flask import Blueprint

from advocate.auth.access import STAFF
from advocate.web import register_nav

bp = Blueprint("letters", __name__, url_prefix="/letters")

register_nav(45, "Work", "Letter batches", "letters.batches", STAFF)
register_nav(65, "Firm", "Letter templates", "letters.templates", STAFF)

from advocate.letters import views  # noqa: E402,F401
