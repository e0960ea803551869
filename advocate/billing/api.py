"""Billing over the JSON API: a practice's fee ledger and the firm's invoices.

Practice users (with an API token) see only their own practice: another
practice is a 404, and the invoice list is filtered to theirs.
"""

from __future__ import annotations

from flask import abort, g, jsonify, request
from sqlalchemy import select

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import Param, describe
from advocate.api.pagination import CURSOR_PARAMS, cursor_page, refuse_page_numbers
from advocate.api.schema import CursorPage, MoneyOut, Out
from advocate.auth.access import READERS, roles
from advocate.billing import ledger
from advocate.billing.models import INVOICE_STATUSES, FeeLedgerEntry, Invoice
from advocate.extensions import db
from advocate.practices.models import Practice

MAX_PER_PAGE = 100


class LedgerEntryOut(Out):
    """A fee ledger entry."""

    id: int
    case_id: int | None
    payment_id: int | None
    kind: str
    amount: MoneyOut | None
    effective_on: str
    recovery: MoneyOut | None
    fee_base: MoneyOut | None
    cumulative_fee: MoneyOut | None
    percent: MoneyOut | None
    basis: str | None
    agreement_id: int | None
    explanation: str | None
    reason: str | None
    created_at: str | None


class LedgerPage(CursorPage[LedgerEntryOut]):
    """A practice's fee ledger, newest first."""

    practice_id: int
    net_fees: MoneyOut | None


class InvoiceOut(Out):
    """An invoice."""

    id: int
    practice_id: int
    kind: str
    status: str
    number: str | None
    period_start: str | None
    period_end: str | None
    case_id: int | None
    issued_on: str
    due_on: str | None
    total: MoneyOut | None
    amount_paid: MoneyOut | None
    amount_remaining: MoneyOut | None
    currency: str | None
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    stripe_invoice_id: str | None


def _int_arg(name: str, default: int, *, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not (1 <= int(raw) <= maximum):
        api_error(
            422,
            "invalid query parameter",
            [{"field": name, "message": f"{name} must be a whole number from 1 to {maximum}."}],
        )
    return int(raw)


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def entry_json(e: FeeLedgerEntry) -> dict:
    return {
        "id": e.id,
        "case_id": e.case_id,
        "payment_id": e.payment_id,
        "kind": e.kind,
        "amount": _money(e.amount),
        "effective_on": e.effective_on.isoformat(),
        "recovery": _money(e.recovery),
        "fee_base": _money(e.fee_base),
        "cumulative_fee": _money(e.cumulative_fee),
        "percent": _money(e.percent),
        "basis": e.basis,
        "agreement_id": e.agreement_id,
        "explanation": e.explanation,
        "reason": e.reason,
        "created_at": e.created_at.isoformat() if e.created_at else None,
    }


def invoice_json(i: Invoice) -> dict:
    return {
        "id": i.id,
        "practice_id": i.practice_id,
        "kind": i.kind,
        "status": i.status,
        "number": i.number,
        "period_start": i.period_start.isoformat() if i.period_start else None,
        "period_end": i.period_end.isoformat() if i.period_end else None,
        "case_id": i.case_id,
        "issued_on": i.issued_on.isoformat(),
        "due_on": i.due_on.isoformat() if i.due_on else None,
        "total": _money(i.total),
        "amount_paid": _money(i.amount_paid),
        "amount_remaining": _money(i.amount_remaining),
        "currency": i.currency,
        "hosted_invoice_url": i.hosted_invoice_url,
        "invoice_pdf": i.invoice_pdf,
        "stripe_invoice_id": i.stripe_invoice_id,
    }


def _own_practice_filter(practice_id: int | None = None) -> int | None:
    """The practice a practice user is limited to (None for firm staff)."""
    if g.membership.is_practice:
        if practice_id is not None and practice_id != g.membership.practice_id:
            abort(404)
        return g.membership.practice_id
    return None


@bp.route("/practices/<int:practice_id>/ledger", methods=["GET"])
@roles(READERS)
@describe(query=CURSOR_PARAMS, responses={200: LedgerPage})
def practice_ledger(practice_id: int):
    """A practice's fee ledger, newest first (effective date, then id), cursor-paginated."""
    refuse_page_numbers()
    _own_practice_filter(practice_id)
    practice = db.session.get(Practice, practice_id)
    if practice is None:
        abort(404)
    rows, nxt = cursor_page(
        ledger.practice_entries_query(practice.id).order_by(None),
        [(FeeLedgerEntry.effective_on, "desc"), (FeeLedgerEntry.id, "desc")],
        lambda e: (e.effective_on, e.id),
    )
    totals = ledger.practice_totals(practice.id)
    items = [entry_json(e) for e in rows]
    db.session.commit()
    return jsonify(practice_id=practice.id, net_fees=_money(totals["net"]), items=items, next=nxt)


@bp.route("/invoices", methods=["GET"])
@roles(READERS)
@describe(
    query=[
        *CURSOR_PARAMS,
        Param("status", "Invoice status.", enum=list(INVOICE_STATUSES)),
        Param("practice_id", "Only this practice's invoices.", "integer"),
    ],
    responses={200: CursorPage[InvoiceOut]},
)
def invoices_list():
    """The firm's invoices, newest first (status=, practice_id=), cursor-paginated."""
    refuse_page_numbers()
    status = request.args.get("status") or None
    if status is not None and status not in INVOICE_STATUSES:
        api_error(
            422,
            "invalid query parameter",
            [
                {
                    "field": "status",
                    "message": "status is one of " + ", ".join(INVOICE_STATUSES) + ".",
                }
            ],
        )
    query = select(Invoice)
    if status:
        query = query.where(Invoice.status == status)
    own = _own_practice_filter()
    if own is not None:
        query = query.where(Invoice.practice_id == own, Invoice.status.not_in(("pending", "draft")))
    elif request.args.get("practice_id"):
        query = query.where(Invoice.practice_id == _int_arg("practice_id", 0, maximum=2**62))
    rows, nxt = cursor_page(query, [(Invoice.id, "desc")], lambda i: (i.id,))
    items = [invoice_json(i) for i in rows]
    db.session.commit()
    return jsonify(items=items, next=nxt)
