"""Billing over the JSON API: a practice's fee ledger and the firm's invoices.

Practice users (with an API token) see only their own practice: another
practice is a 404, and the invoice list is filtered to theirs.
"""

from __future__ import annotations

import stripe
from flask import abort, g, jsonify, request
from sqlalchemy import select

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import Param, describe
from advocate.api.pagination import CURSOR_PARAMS, cursor_page, refuse_page_numbers
from advocate.api.schema import CursorPage, MoneyOut, Out
from advocate.auth.access import MANAGERS, READERS, roles
from advocate.billing import invoicing, ledger
from advocate.billing.models import INVOICE_STATUSES, FeeLedgerEntry, Invoice, InvoiceLine
from advocate.billing.stripe_api import StripeNotConfigured
from advocate.extensions import db
from advocate.practices.models import Practice
from advocate.practices.services import tenant_today

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


class InvoiceLineOut(Out):
    """One case's fees on an invoice."""

    id: int
    case_id: int
    case_number: str
    recovery: MoneyOut
    basis: str | None
    percent: MoneyOut | None
    amount: MoneyOut
    description: str


class InvoiceDetailOut(InvoiceOut):
    """An invoice with its lines (one per case)."""

    lines: list[InvoiceLineOut]


class PreparedInvoices(Out):
    """The invoices prepared (status ``pending``: not yet on Stripe); empty when nothing is due."""

    items: list[InvoiceDetailOut]


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


# --- preparing, issuing and voiding invoices: the services the billing pages call ---


def line_json(line: InvoiceLine) -> dict:
    return {
        "id": line.id,
        "case_id": line.case_id,
        "case_number": line.case_number,
        "recovery": _money(line.recovery),
        "basis": line.basis,
        "percent": _money(line.percent),
        "amount": _money(line.amount),
        "description": line.description,
    }


def invoice_detail_json(i: Invoice) -> dict:
    lines = db.session.scalars(
        select(InvoiceLine).where(InvoiceLine.invoice_id == i.id).order_by(InvoiceLine.id)
    ).all()
    return dict(invoice_json(i), lines=[line_json(ln) for ln in lines])


def _invoice_or_404(invoice_id: int) -> Invoice:
    """The firm's invoice; a practice user sees only their practice's sent invoices."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        abort(404)
    own = _own_practice_filter()
    if own is not None and (invoice.practice_id != own or invoice.status in ("pending", "draft")):
        abort(404)
    return invoice


def _refused(err: Exception):
    """Stripe or the invoice's state refused the change: nothing of it is kept."""
    db.session.rollback()
    message = invoicing.stripe_error_text(err)
    if isinstance(err, stripe.StripeError):
        api_error(502, "Stripe refused the request", [{"field": None, "message": message}])
    api_error(409, message, [{"field": None, "message": message}])


@bp.route("/practices/<int:practice_id>/invoices", methods=["POST"])
@roles(MANAGERS)
@describe(responses={201: PreparedInvoices, 200: PreparedInvoices})
def practice_invoices_prepare(practice_id: int):
    """Prepare the invoices the practice's billing cadence calls for today.

    Per settlement: one invoice per case with unbilled fees; monthly: one for
    the last complete month. The invoices are written ``pending`` (201); issue
    each with ``POST /invoices/{id}/issue``. Nothing due: 200 with no items.
    """
    practice = db.session.get(Practice, practice_id)
    if practice is None:
        abort(404)
    prepared = invoicing.prepare_invoices(
        g.tenant.id, practice, today=tenant_today(g.tenant), actor_id=g.actor.id
    )
    items = [invoice_detail_json(i) for i in prepared]
    db.session.commit()  # the invoices exist before Stripe is asked: a retry reuses them
    return jsonify(items=items), 201 if items else 200


@bp.route("/invoices/<int:invoice_id>", methods=["GET"])
@roles(READERS)
@describe(responses={200: InvoiceDetailOut})
def invoice_get(invoice_id: int):
    """One invoice with its lines."""
    invoice = _invoice_or_404(invoice_id)
    out = invoice_detail_json(invoice)
    db.session.commit()
    return jsonify(out)


@bp.route("/invoices/<int:invoice_id>/issue", methods=["POST"])
@roles(MANAGERS)
@describe(responses={200: InvoiceDetailOut}, errors=(409, 502))
def invoice_issue(invoice_id: int):
    """Create, finalize and send the invoice on the firm's Stripe.

    Safe to repeat: an invoice already issued is returned as it is, and a retry
    after a failure never makes a second invoice on Stripe. 409 when the firm
    has no Stripe account; 502 when Stripe refuses (the invoice stays pending).
    """
    invoice = _invoice_or_404(invoice_id)
    try:
        invoicing.issue_invoice(invoice, actor_id=g.actor.id)
    except (StripeNotConfigured, invoicing.InvoicingError, stripe.StripeError) as err:
        _refused(err)
    out = invoice_detail_json(invoice)
    db.session.commit()
    return jsonify(out)


@bp.route("/invoices/<int:invoice_id>/void", methods=["POST"])
@roles(MANAGERS)
@describe(responses={200: InvoiceDetailOut}, errors=(409, 502))
def invoice_void(invoice_id: int):
    """Void a pending or open invoice (on Stripe, then here): its fees can be billed again.

    409 when the invoice is neither pending nor open (paid, void, uncollectible).
    """
    invoice = _invoice_or_404(invoice_id)
    try:
        invoicing.change_invoice(invoice, "void", actor_id=g.actor.id)
    except (StripeNotConfigured, invoicing.InvoicingError, stripe.StripeError) as err:
        _refused(err)
    out = invoice_detail_json(invoice)
    db.session.commit()
    return jsonify(out)
