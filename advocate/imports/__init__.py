"""Importers for external data files: X12 835 remittance advice (posted to the
cases' payment ledgers) and claim CSVs (opened as cases at intake).

The parsers (`x12`, `era`, `era_fixtures`, `claims_csv`'s row rules) are pure;
`posting` and `claims_csv` write through the ORM and flush only; the web pages,
the API (`/api/v1/remittances`, `/api/v1/imports/claims`) and the CLI group
`flask --app wsgi import ...` commit once.
"""

from flask import Blueprint

from advocate.auth.access import WORKERS
from advocate.web import register_nav

bp = Blueprint("imports", __name__, url_prefix="/imports", cli_group="import")

register_nav(50, "Work", "Imports", "imports.index", WORKERS)

from advocate.imports import cli, views  # noqa: E402,F401
