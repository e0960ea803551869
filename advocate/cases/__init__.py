"""Cases and caseloads: one disputed claim each, worked from intake to paid."""

from flask import Blueprint

from advocate.auth.access import STAFF
from advocate.web import register_nav

bp = Blueprint("cases", __name__, url_prefix="/cases")

register_nav(10, "Work", "My caseload", "cases.mine", STAFF)
register_nav(20, "Work", "Cases", "cases.index", STAFF)
register_nav(30, "Work", "Team board", "cases.board", STAFF)
register_nav(40, "Work", "Single case agreements", "cases.sca_index", STAFF)

from advocate.cases import views_detail, views_list  # noqa: E402,F401
