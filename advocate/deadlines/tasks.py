"""Background jobs of the deadlines feature (RQ; inline without Redis).

Jobs take ids and ISO dates, never ORM objects, and are idempotent: the
digest records each email it sends (``deadline_digests``, one per person per
day), so a retried job sends nothing twice.
"""

from __future__ import annotations

from datetime import date

from advocate.extensions import db
from tenants import tenant_scope


def send_firm_digest(tenant_id: int, on: str | None = None, refresh: bool = True) -> int:
    """Send one firm's daily deadline digests for ``on`` (YYYY-MM-DD, default:
    the firm's today); returns the number of emails sent."""
    from advocate.deadlines.case_services import send_digests

    with tenant_scope(tenant_id):
        try:
            sent = send_digests(
                tenant_id, today=date.fromisoformat(on) if on else None, refresh=refresh
            )
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return len(sent)
