"""A case's deadlines and open negotiation notice over the JSON API.

``GET /api/v1/cases/<case_id>/deadlines`` and
``GET /api/v1/cases/<case_id>/nsa/notice``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import jsonify, request

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import Param, describe
from advocate.api.schema import OpenOut, Out
from advocate.audit.services import audit
from advocate.auth.access import STAFF, roles
from advocate.cases.models import Case
from advocate.deadlines import case_services as svc
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


@bp.route("/cases/<int:case_id>/deadlines")
@roles(STAFF)
@describe(responses={200: CaseDeadlinesOut})
def case_deadlines(case_id: int):
    """The case's deadlines (recomputed from its facts first), open first by date.

    Each: ``kind``, ``label``, ``due_on``, ``rule`` (how it was counted, in
    words), ``state`` (open, today, overdue, passed, done), ``is_manual``.
    ``notes`` say what could not be computed (e.g. no payer policy).
    """
    case = _case_or_404(case_id)
    result = svc.case_deadlines(case)
    body = {
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
    db.session.commit()
    return jsonify(body)


@bp.route("/cases/<int:case_id>/nsa/notice")
@roles(STAFF)
@describe(query=[Param("sent_on", "Preview another sending date (YYYY-MM-DD).", format="date")],
          responses={200: NoticeOut})
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
