"""A case's deadlines and open negotiation notice over the JSON API.

``GET /api/v1/cases/<case_id>/deadlines`` and
``GET /api/v1/cases/<case_id>/nsa/notice``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import g, jsonify, request
from sqlalchemy import select

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import Param, body, describe
from advocate.api.schema import Body, Date, OpenOut, Out
from advocate.audit.services import audit
from advocate.auth.access import STAFF, WORKERS, roles
from advocate.cases.models import Case
from advocate.deadlines import case_services as svc
from advocate.deadlines.case_models import CaseDeadline
from advocate.extensions import db


def _case_or_404(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        api_error(404, "no such case")
    return case


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class DeadlineOut(Out):
    id: int
    kind: str
    label: str
    due_on: str
    rule: str | None
    state: str
    is_manual: bool
    is_done: bool
    source: dict | None


class CaseDeadlinesOut(Out):
    """A case's deadlines, open first by date."""

    case_id: int
    reference: str
    next_deadline_on: str | None
    deadlines: list[DeadlineOut]
    notes: list[str]


class NoticeOut(OpenOut):
    """The open negotiation notice's data."""


def _deadlines_body(case: Case) -> dict:
    result = svc.case_deadlines(case)
    return {
        "case_id": case.id,
        "reference": case.reference,
        "next_deadline_on": case.next_deadline_on.isoformat() if case.next_deadline_on else None,
        "deadlines": [
            {
                "id": d.id,
                "kind": d.kind,
                "label": d.label,
                "due_on": d.due_on.isoformat(),
                "rule": d.rule,
                "state": d.state,
                "is_manual": d.is_manual,
                "is_done": d.is_done,
                "source": {"type": d.source_type, "id": d.source_id} if d.source_type else None,
            }
            for d in result.deadlines
        ],
        "notes": result.notes,
    }


@bp.route("/cases/<int:case_id>/deadlines")
@roles(STAFF)
@describe(responses={200: CaseDeadlinesOut})
def case_deadlines(case_id: int):
    """The case's deadlines (recomputed from its facts first), open first by date.

    Each: ``kind``, ``label``, ``due_on``, ``rule`` (how it was counted, in
    words), ``state`` (open, today, overdue, passed, done), ``is_manual``.
    ``notes`` say what could not be computed (e.g. no payer policy).
    """
    body_ = _deadlines_body(_case_or_404(case_id))
    db.session.commit()
    return jsonify(body_)


class ManualDeadlineIn(Body):
    """A deadline added by hand."""

    label: str
    due_on: Date
    note: str | None = None


class DeadlineDoneIn(Body):
    """Done (true) or open again (false)."""

    done: bool = True


@bp.route("/cases/<int:case_id>/deadlines", methods=["POST"])
@roles(WORKERS)
@describe(body=ManualDeadlineIn, responses={201: CaseDeadlinesOut})
def case_deadlines_add(case_id: int):
    """Add a deadline by hand to a case; answers the case's deadlines."""
    case = _case_or_404(case_id)
    try:
        svc.add_manual_deadline(case, actor_id=g.actor.id, data=body().data())
    except svc.NsaError as err:
        db.session.rollback()
        api_error(422, "validation failed", [{"field": f, "message": m} for f, m in err.errors])
    out = _deadlines_body(case)
    db.session.commit()
    return jsonify(out), 201


@bp.route("/cases/<int:case_id>/deadlines/<int:deadline_id>/done", methods=["POST"])
@roles(WORKERS)
@describe(body=DeadlineDoneIn, responses={200: CaseDeadlinesOut})
def case_deadlines_done(case_id: int, deadline_id: int):
    """Mark one of a case's deadlines done (or open again)."""
    case = _case_or_404(case_id)
    deadline = db.session.scalar(
        select(CaseDeadline).where(CaseDeadline.id == deadline_id, CaseDeadline.case_id == case.id)
    )
    if deadline is None:
        api_error(404, "no such deadline on this case")
    svc.mark_deadline_done(case, deadline, actor_id=g.actor.id, done=body().done)
    out = _deadlines_body(case)
    db.session.commit()
    return jsonify(out)


@bp.route("/cases/<int:case_id>/nsa/notice")
@roles(STAFF)
@describe(
    query=[Param("sent_on", "Preview another sending date (YYYY-MM-DD).", format="date")],
    responses={200: NoticeOut},
)
def case_notice(case_id: int):
    """The open negotiation notice's data: QPA, offer, claim details, the
    30-business-day period. ``sent_on`` (YYYY-MM-DD) previews another sending date."""
    case = _case_or_404(case_id)
    sent_on = None
    raw = (request.args.get("sent_on") or "").strip()
    if raw:
        try:
            sent_on = date.fromisoformat(raw)
        except ValueError:
            api_error(
                422, "sent_on is not a date", [{"field": "sent_on", "message": "use YYYY-MM-DD"}]
            )
    data = svc.notice_data(case, sent_on=sent_on)
    audit("case.nsa_notice_data", case, is_phi=True, details={"via": "api"})
    db.session.commit()
    return jsonify(_plain(data))
