"""Professional associations: the firm's directory of specialty societies,
whose guidance documents back its cases."""

from flask import Blueprint

from advocate.auth.access import STAFF
from advocate.web import register_nav

bp = Blueprint("associations", __name__, url_prefix="/associations")

register_nav(60, "Practice", "Associations", "associations.index", STAFF)

from advocate.associations import views  # noqa: E402,F401
