"""The firm's webhook endpoints and their deliveries (managers only)."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from advocate.auth.access import MANAGERS, roles
from advocate.extensions import db
from advocate.webhooks import bp, services
from advocate.webhooks.models import WebhookDelivery, WebhookEndpoint


@bp.route("/")
@roles(MANAGERS)
def index():
    """List the firm's webhook endpoints and add one."""
    endpoints = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
    return render_template(
        "webhooks/index.html", endpoints=endpoints, events=services.EVENTS, errors={}
    )


@bp.route("/", methods=["POST"])
@roles(MANAGERS)
def create():
    """Register an endpoint for the chosen events."""
    try:
        ep = services.create_endpoint(
            tenant_id=g.membership.tenant_id,
            actor=g.actor,
            url=request.form.get("url", ""),
            events=request.form.getlist("events"),
            description=request.form.get("description") or None,
        )
    except services.WebhookError as err:
        db.session.rollback()
        endpoints = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
        return render_template(
            "webhooks/index.html",
            endpoints=endpoints,
            events=services.EVENTS,
            errors=dict(err.errors),
        ), 422
    db.session.commit()
    flash("Endpoint added. Its signing secret is shown on its page.", "success")
    return redirect(url_for("webhooks.endpoint", endpoint_id=ep.id))


@bp.route("/<int:endpoint_id>")
@roles(MANAGERS)
def endpoint(endpoint_id: int):
    """Show an endpoint, its signing secret and its deliveries with their responses."""
    ep = db.session.get(WebhookEndpoint, endpoint_id)
    if ep is None:
        abort(404)
    page = db.paginate(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == ep.id)
        .order_by(WebhookDelivery.id.desc()),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template("webhooks/endpoint.html", ep=ep, page=page, events=services.EVENTS)


@bp.route("/<int:endpoint_id>/disable", methods=["POST"])
@roles(MANAGERS)
def disable(endpoint_id: int):
    """Stop sending events to an endpoint (or start again)."""
    ep = db.session.get(WebhookEndpoint, endpoint_id)
    if ep is None:
        abort(404)
    ep.is_active = not ep.is_active
    services.forget_endpoints()
    from advocate.audit.services import audit

    audit("webhook.endpoint_toggled", ep, details={"is_active": ep.is_active})
    db.session.commit()
    return redirect(url_for("webhooks.endpoint", endpoint_id=ep.id))


@bp.route("/deliveries/<int:delivery_id>/replay", methods=["POST"])
@roles(MANAGERS)
def replay(delivery_id: int):
    """Send a delivery's event again (a new delivery)."""
    d = db.session.get(WebhookDelivery, delivery_id)
    if d is None:
        abort(404)
    again = services.replay(d, actor=g.actor)
    endpoint_id = d.endpoint_id
    db.session.commit()
    flash(f"Event {again.event_type} sent again.", "success")
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint_id))
