"""Owners and admins browse and filter the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import current_app, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import aliased

from advocate.audit import bp
from advocate.audit.models import AuditEvent
from advocate.auth.access import MANAGERS, roles
from advocate.auth.models import User
from advocate.extensions import db
from tenants import require_tenant_id
from tenants.models import Membership


def _date_arg(name: str):
    raw = request.args.get(name, "").strip()
    if not raw:
        return None, None
    try:
        return date.fromisoformat(raw), None
    except ValueError:
        return None, f"{name}: '{raw}' is not a date (YYYY-MM-DD)"


@bp.route("/")
@roles(MANAGERS)
def index():
    """List audit events, newest first, filtered."""
    tid = require_tenant_id()
    errors = []
    # The audit table is not ORM-scoped (it holds tenantless rows), so the
    # tenant filter here is explicit; RLS backs it on PostgreSQL.
    q = select(AuditEvent).where(AuditEvent.tenant_id == tid)
    action = request.args.get("action", "").strip()
    if action:
        q = q.where(AuditEvent.action.startswith(action))
    user_id = request.args.get("user", type=int)
    if user_id:
        q = q.where(AuditEvent.user_id == user_id)
    object_type = request.args.get("object_type", "").strip()
    if object_type:
        q = q.where(AuditEvent.object_type == object_type)
    if request.args.get("phi") == "1":
        q = q.where(AuditEvent.is_phi.is_(True))
    start, err = _date_arg("from")
    if err:
        errors.append(err)
    elif start:
        q = q.where(AuditEvent.at >= datetime.combine(start, time.min, tzinfo=UTC))
    end, err = _date_arg("to")
    if err:
        errors.append(err)
    elif end:
        q = q.where(AuditEvent.at <= datetime.combine(end, time.max, tzinfo=UTC))
    q = q.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    page = db.paginate(q, per_page=current_app.config["PAGE_SIZE"] * 2, error_out=False, count=True)
    m = aliased(Membership)
    people = db.session.execute(
        select(User.id, User.name)
        .join(m, m.user_id == User.id)
        .where(m.tenant_id == tid)
        .order_by(User.name)
    ).all()
    return render_template("audit/index.html", page=page, errors=errors, people=people)
