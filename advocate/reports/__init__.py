"""Reports: the firm dashboard, payer scorecards, advocate workload and
practice reports, with CSV/XLSX exports and server-side SVG charts."""

from flask import Blueprint

from advocate.auth.access import PRACTICE, STAFF
from advocate.web import register_nav

bp = Blueprint("reports", __name__, url_prefix="/reports")

register_nav(20, "Firm", "Reports", "reports.dashboard", STAFF)
register_nav(21, "Firm", "Payer scorecards", "reports.payers", STAFF)
register_nav(22, "Firm", "Advocate workload", "reports.advocates", STAFF)
register_nav(23, "Firm", "Practice reports", "reports.practices", STAFF)
register_nav(6, "Practice", "Reports", "reports.my_practice", PRACTICE)

from advocate.reports import views  # noqa: E402,F401
