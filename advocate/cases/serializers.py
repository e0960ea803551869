"""Cases as JSON: money as strings with two decimals, dates as ISO strings."""

from __future__ import annotations

from decimal import Decimal


def m(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def d(value) -> str | None:
    return None if value is None else value.isoformat()


def case_summary(c) -> dict:
    return {
        "id": c.id,
        "reference": c.reference,
        "status": c.status,
        "status_label": c.status_label,
        "appeal_level": c.appeal_level,
        "practice": {"id": c.practice_id, "name": c.practice.name},
        "payer": {"id": c.payer_id, "name": c.payer.name},
        "plan_type": c.plan_type,
        "patient": {"first_name": c.patient_first_name, "last_name": c.patient_last_name},
        "payer_claim_number": c.payer_claim_number,
        "patient_control_number": c.patient_control_number,
        "service_from": d(c.service_from),
        "service_to": d(c.service_to),
        "assignee_id": c.assignee_id,
        "billed_total": m(c.billed_total),
        "allowed_total": m(c.allowed_total),
        "initial_paid": m(c.initial_paid),
        "total_paid": m(c.total_paid),
        "amount_at_stake": m(c.amount_at_stake),
        "next_deadline_on": d(c.next_deadline_on),
        "next_follow_up_on": d(c.next_follow_up_on),
        "is_nsa_eligible": c.is_nsa_eligible,
        "nsa_flagged": c.nsa_flagged,
        "opened_at": c.opened_at.isoformat(),
    }


def line(ln) -> dict:
    return {
        "id": ln.id,
        "line_no": ln.line_no,
        "code": ln.code,
        "modifiers": list(ln.modifiers or []),
        "units": f"{ln.units.normalize():f}",
        "service_date": d(ln.service_date),
        "place_of_service": ln.place_of_service,
        "billed": m(ln.billed),
        "allowed": m(ln.allowed),
        "paid": m(ln.paid),
        "patient_resp": m(ln.patient_resp),
        "adjustments": ln.adjustments or [],
        "remark_codes": ln.remark_codes or [],
    }


def payment(p) -> dict:
    return {
        "id": p.id,
        "paid_on": d(p.paid_on),
        "amount": m(p.amount),
        "source": p.source,
        "reference": p.reference,
        "is_initial": p.is_initial,
    }


def offer(o) -> dict:
    return {
        "id": o.id,
        "party": o.party,
        "amount": m(o.amount),
        "basis": o.basis,
        "offered_on": d(o.offered_on),
        "expires_on": d(o.expires_on),
        "status": o.status,
        "note": o.note,
    }


def appeal(a) -> dict:
    return {
        "id": a.id,
        "level": a.level,
        "filed_on": d(a.filed_on),
        "deadline_on": d(a.deadline_on),
        "method": a.method,
        "tracking_number": a.tracking_number,
        "decision_on": d(a.decision_on),
        "outcome": a.outcome,
        "amount_awarded": m(a.amount_awarded),
    }


def communication(c) -> dict:
    return {
        "id": c.id,
        "kind": c.kind,
        "direction": c.direction,
        "occurred_at": c.occurred_at.isoformat(),
        "contact_name": c.contact_name,
        "reference_number": c.reference_number,
        "summary": c.summary,
        "outcome": c.outcome,
        "follow_up_on": d(c.follow_up_on),
    }


def transition_event(e) -> dict:
    data = e.data or {}
    return {
        "at": e.at.isoformat(),
        "from": data.get("from"),
        "to": data.get("to"),
        "actor_id": e.actor_id,
        "note": e.body,
    }
