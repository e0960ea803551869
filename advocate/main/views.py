"""The landing page: a firm's dashboard, or a practice's."""

from __future__ import annotations

from flask import g, redirect, render_template, url_for
from sqlalchemy import func, select

from advocate.auth.access import ANY, STAFF, roles
from advocate.extensions import db
from advocate.main import bp
from tenants.models import Membership
from tenants.onboarding.models import Invitation


@bp.route("/")
@roles(ANY)
def index():
    """Show what needs doing first."""
    m = g.membership
    if m.is_practice:
        # Practice people have their own home: their practice's portal.
        return redirect(url_for("portal.home"))
    counts = {}
    if m.is_staff:
        counts["people"] = db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.tenant_id == m.tenant_id, Membership.is_active.is_(True))
        )
        counts["invitations"] = db.session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.accepted_at.is_(None))
        )
    ctx = {}
    if m.is_staff:
        # Staff land on the firm dashboard (advocate.reports), last twelve months.
        from advocate.reports.views import dashboard_context

        ctx = dashboard_context()
        ctx["filter_action"] = url_for("reports.dashboard")
        ctx["show_checklist"] = not any(
            row["value"]
            for row in ctx["rep"].figures.rows
            if row["_key"] in ("opened", "open_cases", "closed")
        )
    return render_template("main/index.html", counts=counts, membership=m, **ctx)


@bp.route("/healthz")
def healthz():
    """Liveness for load balancers (no data, no session)."""
    return {"status": "ok"}


healthz._access = "public"


@bp.route("/settings")
@roles(STAFF)
def settings():
    """List the firm's settings pages this person may open."""
    from advocate.web import settings_for

    return render_template("main/settings.html", settings=settings_for(g.membership.role))
