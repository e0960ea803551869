"""Payers over the JSON API: list, create, read, and the policy in effect on a date."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import g, jsonify, request, url_for

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import Param, body, describe
from advocate.api.pagination import CURSOR_PARAMS, cursor_page, refuse_page_numbers
from advocate.api.schema import Body, CursorPage, Out
from advocate.auth.access import MANAGERS, STAFF, roles
from advocate.extensions import db
from advocate.payers import services
from advocate.payers.defaults import PLAN_TYPES
from advocate.payers.models import Payer
from advocate.payers.validation import FieldErrors


class PayerIn(Body):
    """A new payer. Plan types are codes (or their usual names, e.g. "MA")."""

    name: str
    edi_payer_id: str | None = None
    plan_types: list[str] | None = None
    provider_phone: str | None = None
    portal_url: str | None = None
    claims_address: str | None = None
    claims_fax: str | None = None
    appeals_address: str | None = None
    appeals_fax: str | None = None
    appeals_phone: str | None = None
    notes: str | None = None


class ContactOut(Out):
    id: int
    name: str | None
    role: str | None
    direct_line: str | None
    email: str | None
    notes: str | None


class PayerOut(Out):
    """A payer."""

    id: int
    name: str
    edi_payer_id: str | None
    plan_types: list[str]
    provider_phone: str | None
    portal_url: str | None
    claims_address: str | None
    claims_fax: str | None
    appeals_address: str | None
    appeals_fax: str | None
    appeals_phone: str | None
    notes: str | None
    created_at: str | None
    updated_at: str | None


class PayerDetail(PayerOut):
    """A payer with its contacts."""

    contacts: list[ContactOut]


class PayerPolicyOut(Out):
    """The payer's policy for a plan type in effect on a date (``policy`` null when none)."""

    payer_id: int
    plan_type: str
    on: str
    policy: dict | None


def _payer_or_404(payer_id: int) -> Payer:
    payer = db.session.get(Payer, payer_id)
    if payer is None:
        api_error(404, "not found")
    return payer


def _firm_today() -> date:
    try:
        tz = ZoneInfo(g.tenant.timezone or "America/New_York")
    except (KeyError, ValueError):
        tz = ZoneInfo("America/New_York")
    return datetime.now(tz).date()


@bp.route("/payers", methods=["GET"])
@roles(STAFF)
@describe(
    query=[
        *CURSOR_PARAMS,
        Param("q", "Search in name and EDI payer id."),
        Param("plan_type", "Only payers with this plan type.", enum=list(PLAN_TYPES)),
    ],
    responses={200: CursorPage[PayerOut]},
)
def payers_list():
    """List the firm's payers by name, cursor-paginated (limit, next; q, plan_type)."""
    refuse_page_numbers()
    plan_type = request.args.get("plan_type") or None
    if plan_type is not None and plan_type not in PLAN_TYPES:
        api_error(
            422,
            "invalid query parameter",
            [{"field": "plan_type", "message": f"plan_type is one of: {', '.join(PLAN_TYPES)}."}],
        )
    q = services.search_payers(g.membership.tenant_id, request.args.get("q"), plan_type)
    rows, nxt = cursor_page(
        q.order_by(None), [(Payer.name_key, "asc"), (Payer.id, "asc")], lambda p: (p.name_key, p.id)
    )
    items = [services.payer_to_dict(p) for p in rows]
    db.session.commit()
    return jsonify(items=items, next=nxt)


@bp.route("/payers", methods=["POST"])
@roles(MANAGERS)
@describe(body=PayerIn, responses={201: PayerDetail})
def payers_create():
    """Add a payer from JSON; 422 with field-level details when invalid."""
    try:
        payer = services.create_payer(
            tenant_id=g.membership.tenant_id, actor_id=g.actor.id, data=body().data()
        )
    except FieldErrors as err:
        db.session.rollback()
        api_error(422, "validation failed", err.as_details())
    db.session.commit()
    response = jsonify(services.payer_to_dict(payer, contacts=True))
    response.status_code = 201
    response.headers["Location"] = url_for("api.payers_get", payer_id=payer.id)
    return response


@bp.route("/payers/<int:payer_id>", methods=["GET"])
@roles(STAFF)
@describe(responses={200: PayerDetail})
def payers_get(payer_id: int):
    """One payer with its contacts."""
    payer = _payer_or_404(payer_id)
    data = services.payer_to_dict(payer, contacts=True)
    db.session.commit()
    return jsonify(data)


@bp.route("/payers/<int:payer_id>/policy", methods=["GET"])
@roles(STAFF)
@describe(
    query=[
        Param("plan_type", "The plan type.", required=True, enum=list(PLAN_TYPES)),
        Param("on", "The day (YYYY-MM-DD); default: today at the firm.", format="date"),
    ],
    responses={200: PayerPolicyOut},
)
def payers_policy(payer_id: int):
    """The payer's policy for plan_type in effect on `on` (YYYY-MM-DD; default: today at the firm).
    `policy` is null when the firm has no policy for that day."""
    payer = _payer_or_404(payer_id)
    details = []
    plan_type = (request.args.get("plan_type") or "").strip()
    if not plan_type:
        details.append(
            {
                "field": "plan_type",
                "message": f"plan_type is required: one of {', '.join(PLAN_TYPES)}.",
            }
        )
    elif plan_type not in PLAN_TYPES:
        details.append(
            {
                "field": "plan_type",
                "message": f"'{plan_type}' is not a plan type; use one of {', '.join(PLAN_TYPES)}.",
            }
        )
    raw_on = (request.args.get("on") or "").strip()
    on = _firm_today()
    if raw_on:
        try:
            on = date.fromisoformat(raw_on)
            if len(raw_on) != 10:
                raise ValueError
        except ValueError:
            details.append(
                {"field": "on", "message": f"'{raw_on}' is not a date written YYYY-MM-DD."}
            )
    if details:
        api_error(422, "invalid query parameter", details)
    policy = services.policy_for(payer, plan_type, on)
    data = {
        "payer_id": payer.id,
        "plan_type": plan_type,
        "on": on.isoformat(),
        "policy": services.policy_to_dict(policy) if policy is not None else None,
    }
    db.session.commit()
    return jsonify(data)
