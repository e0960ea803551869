"""The activity feed of a practice: its audit events, in words."""

from __future__ import annotations

from sqlalchemy import select

from advocate.audit.models import AuditEvent
from tenants import require_tenant_id

LABELS = {
    "practice.created": "Practice added",
    "practice.updated": "Practice details updated",
    "practice.contact_added": "Contact added",
    "practice.contact_removed": "Contact removed",
    "practice.agreement_added": "Fee agreement version added",
    "practice.agreement_withdrawn": "Scheduled fee agreement version withdrawn",
    "practice.authorization_added": "Authorization recorded",
    "practice.authorization_revoked": "Authorization revoked",
    "practice.authorization_document_attached": "Signed authorization attached",
    "practice.member_invited": "Portal invitation sent",
    "practice.member_removed": "Portal access removed",
    "practice.member_restored": "Portal access restored",
}

FIELD_LABELS = {
    "name": "legal name",
    "npi": "NPI",
    "tin": "TIN",
    "specialty": "specialty",
    "address_line1": "address",
    "address_line2": "address",
    "city": "city",
    "state": "state",
    "zip": "ZIP",
    "default_pos": "default place of service",
    "phone": "phone",
    "fax": "fax",
    "status": "status",
    "notes": "notes",
}


def feed_query(practice_id: int):
    """Changes to the practice, newest first (page views are not changes).

    The audit table is not ORM-scoped (it holds tenantless rows), so the
    tenant filter is explicit; RLS backs it on PostgreSQL.
    """
    return (
        select(AuditEvent)
        .where(
            AuditEvent.tenant_id == require_tenant_id(),
            AuditEvent.object_type == "practices",
            AuditEvent.object_id == str(practice_id),
            AuditEvent.action.in_(tuple(LABELS)),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )


def describe(event: AuditEvent) -> str:
    """One line for the feed, from ids and codes only (never PHI)."""
    label = LABELS.get(event.action, event.action)
    d = event.details or {}
    if event.action == "practice.updated" and d.get("fields"):
        names = list(dict.fromkeys(FIELD_LABELS.get(f, f) for f in d["fields"]))
        label += ": " + ", ".join(names)
        if isinstance(d.get("status"), dict):
            label += f" (status {d['status'].get('from')} → {d['status'].get('to')})"
    elif event.action == "practice.agreement_added" and d.get("effective_date"):
        label += f": {d.get('percent')}% {d.get('basis')}, effective {d['effective_date']}"
    elif event.action == "practice.authorization_added" and d.get("signed_on"):
        label += f": signed {d['signed_on']}"
        label += f", expires {d['expires_on']}" if d.get("expires_on") else ", no expiry"
    elif event.action == "practice.member_invited" and d.get("role"):
        label += f" ({str(d['role']).replace('_', ' ')})"
    return label
