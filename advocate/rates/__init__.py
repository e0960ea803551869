"""Rates: Medicare Physician Fee Schedule files and pricing."""

from flask import Blueprint

from advocate.auth.access import STAFF
from advocate.web import register_nav

bp = Blueprint("rates", __name__, url_prefix="/rates")

register_nav(60, "Work", "Medicare rates", "rates.medicare", STAFF)
register_nav(61, "Work", "Commercial percentiles", "rates.percentiles", STAFF)

from advocate.rates import benchmark_views, cli, views  # noqa: E402,F401
