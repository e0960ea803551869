"""API endpoints of the foundation; features add their own modules."""

from __future__ import annotations

from flask import g, jsonify

from advocate.api import bp, openapi
from advocate.api.openapi import describe
from advocate.api.schema import Out
from advocate.auth.access import STAFF, public, roles


class MeUser(Out):
    id: int
    name: str
    email: str


class MeTenant(Out):
    id: int
    name: str
    slug: str


class Me(Out):
    """The user, role and firm a token acts as."""

    user: MeUser
    role: str
    tenant: MeTenant


@bp.route("/me")
@roles(STAFF)
@describe(responses={200: Me})
def me():
    """Who this token acts as."""
    m = g.membership
    return jsonify(
        user={"id": g.actor.id, "name": g.actor.name, "email": g.actor.email},
        role=m.role,
        tenant={"id": m.tenant.id, "name": m.tenant.name, "slug": m.tenant.slug},
    )


@bp.route("/openapi.json")
@public
@describe(responses={200: "The OpenAPI 3.1 document of this API."})
def openapi_document():
    """This API's OpenAPI 3.1 description, generated from the code."""
    return openapi.openapi_json()


@bp.route("/docs")
@public
@describe(responses={200: "An HTML page."})
def reference():
    """The API reference as a web page (rendered on the server; works offline)."""
    return openapi.reference_page()
