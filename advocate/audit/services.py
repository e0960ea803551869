"""The one helper every feature calls to write the audit log."""

from __future__ import annotations

import functools
from typing import Any

from flask import g, has_request_context, request

from advocate.audit.models import AuditEvent
from advocate.extensions import db
from tenants import current_tenant_id


def client_ip() -> str | None:
    if not has_request_context():
        return None
    return request.remote_addr


def audit(
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    details: dict | None = None,
    is_phi: bool = False,
    tenant_id: int | None = None,
    user_id: int | None = None,
) -> AuditEvent:
    """Add one audit row to the session (the request's commit writes it).

    Details must never contain PHI: ids and counts, not names or member ids.
    """
    if obj is not None:
        object_type = object_type or getattr(obj, "__audit_type__", None) or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    if user_id is None and has_request_context():
        user = g.get("actor")
        user_id = getattr(user, "id", None)
    event = AuditEvent(
        tenant_id=tenant_id if tenant_id is not None else current_tenant_id(),
        user_id=user_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        is_phi=is_phi,
        ip=client_ip(),
        method=request.method if has_request_context() else None,
        path=request.path[:255] if has_request_context() else None,
        details=details,
    )
    db.session.add(event)
    return event


def audited(
    action: str, object_type: str | None = None, id_arg: str | None = None, phi: bool = True
):
    """Mark a view as reading or changing PHI and audit each successful call.

    The mark (`view._audit_action`) is what the PHI-route check looks for.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            rv = view(*args, **kwargs)
            status = getattr(rv, "status_code", None)
            if isinstance(rv, tuple) and len(rv) > 1 and isinstance(rv[1], int):
                status = rv[1]
            if status is None or status < 400:
                audit(
                    action,
                    object_type=object_type,
                    object_id=kwargs.get(id_arg) if id_arg else None,
                    is_phi=phi,
                )
                db.session.commit()
            return rv

        wrapper._audit_action = action
        return wrapper

    return decorate
