"""API endpoints of the foundation; features add their own modules."""

from __future__ import annotations

from flask import g, jsonify

from advocate.api import bp
from advocate.auth.access import STAFF, roles


@bp.route("/me")
@roles(STAFF)
def me():
    """Who this token acts as."""
    m = g.membership
    return jsonify(
        user={"id": g.actor.id, "name": g.actor.name, "email": g.actor.email},
        role=m.role,
        tenant={"id": m.tenant.id, "name": m.tenant.name, "slug": m.tenant.slug},
    )
