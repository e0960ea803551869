"""Payers: the firm's payer directory, contacts and each payer's OON policy
(versioned by effective date per plan type), with CSV import."""

from flask import Blueprint

from advocate.auth.access import STAFF
from advocate.web import register_nav

bp = Blueprint("payers", __name__, url_prefix="/payers")

register_nav(30, "Practice", "Payers", "payers.index", STAFF)

from advocate.payers import views  # noqa: E402,F401
