"""NSA timeline over the JSON API: ``GET /api/v1/nsa/timeline``."""

from __future__ import annotations

from flask import g, jsonify, request

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import Param, describe
from advocate.api.schema import OpenOut
from advocate.auth.access import STAFF, roles
from advocate.deadlines import services
from advocate.deadlines.services import TIMELINE_INPUTS, DeadlineError
from advocate.extensions import db


class TimelineOut(OpenOut):
    """The federal IDR deadlines (dates or null), with the rules, closures and warnings."""

    rules: dict
    warnings: list
    closures: list[dict]


@bp.route("/nsa/timeline")
@roles(STAFF)
@describe(
    query=[
        Param(n, f"The date the {label} (YYYY-MM-DD).", required=n == "received", format="date")
        for n, label in TIMELINE_INPUTS
    ]
    + [Param("closures", "Comma-separated extra closure dates.")],
    responses={200: TimelineOut},
)
def nsa_timeline():
    """Compute the federal IDR deadlines from the dates known so far.

    Query parameters (dates as YYYY-MM-DD): ``received`` (required: the initial
    payment or denial was received), and optional ``notice_sent``,
    ``initiated``, ``selected``, ``determined``. An empty parameter counts as
    absent. ``closures``: comma-separated dates counted as closed *in addition
    to* federal holidays and the firm's configured closure days (the firm's
    closures always apply; this parameter cannot remove one).

    Returns the nine deadlines (``notice_deadline``, ``negotiation_ends``,
    ``idr_window_start``, ``idr_window_end``, ``idre_selection_due``,
    ``offers_due``, ``determination_due``, ``payment_due``,
    ``cooling_off_ends``), each a date or null while the input it counts from
    is missing, and three extra keys: ``rules``, one sentence per deadline
    saying how it was counted (plus ``cooling_off_filing_ends``, the last day
    to file items held back during cooling-off); ``closures``, the closure days
    applied (firm and request) with their reasons; ``warnings``, steps the
    dates show were taken late or too early (e.g. IDR initiated after its
    window). Errors are 422 naming the parameter in ``details``: a missing
    ``received``, a malformed or implausible date, or dates out of the order
    received, notice_sent, initiated, selected, determined.
    """
    errors: list[dict[str, str]] = []
    values = {}
    for name, label in TIMELINE_INPUTS:
        raw = request.args.get(name, "").strip()
        if not raw:
            values[name] = None
            if name == "received":
                errors.append(
                    {"field": name, "message": f"required: the date the {label} (YYYY-MM-DD)"}
                )
            continue
        try:
            values[name] = services.parse_date(raw, name)
        except DeadlineError as err:
            errors.append({"field": name, "message": err.message})
    extra = []
    try:
        extra = services.parse_dates(request.args.get("closures", ""), "closures")
    except DeadlineError as err:
        errors.append({"field": "closures", "message": err.message})
    if errors:
        api_error(422, "invalid parameters: " + ", ".join(e["field"] for e in errors), errors)
    order = services.order_error(values)
    if order is not None:
        api_error(422, order.message, [{"field": order.field, "message": order.message}])

    tid = g.membership.tenant_id
    timeline = services.nsa_timeline_for(tid, **values, extra_closures=extra)
    firm = services.calendar_for(tid).closures
    applied = dict.fromkeys(extra, services.EXTRA_CLOSURE_REASON)
    applied.update(firm)
    body: dict[str, object] = dict(timeline.to_json_dict())
    body["rules"] = timeline.explain()
    body["warnings"] = services.timeline_warnings(timeline)
    body["closures"] = [
        {
            "date": day.isoformat(),
            "reason": reason,
            "source": "firm" if day in firm else "request",
        }
        for day, reason in sorted(applied.items())
    ]
    db.session.commit()
    return jsonify(body)
