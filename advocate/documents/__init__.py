"""Documents: files attached to practices, payers, payer policies,
associations and cases, stored through `advocate.storage`.

Other features use:
    register_owner(owner_type, loader, practice_of)   # once, at import
    documents_for(owner_type, owner_id)                # for their detail page
and include `templates/documents/_panel.html` (`documents_panel(...)`).
"""

from flask import Blueprint

from advocate.auth.access import MANAGERS
from advocate.web import register_nav

bp = Blueprint("documents", __name__, url_prefix="/documents")

register_nav(85, "Firm", "Deleted documents", "documents.deleted", MANAGERS)

from advocate.documents.owners import register_owner  # noqa: E402
from advocate.documents.services import documents_for, documents_query  # noqa: E402

__all__ = ["bp", "documents_for", "documents_query", "register_owner"]

from advocate.documents import cli, views  # noqa: E402,F401
