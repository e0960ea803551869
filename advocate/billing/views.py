"""Billing pages: the firm's invoices and fee ledgers, its Stripe account,
reports, and the practice's fee statements in the portal."""

from __future__ import annotations

from datetime import date

import stripe
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from advocate.audit.services import audit
from advocate.auth.access import MANAGERS, OWNERS, PRACTICE, STAFF, roles
from advocate.billing import accounts, bp, invoicing, ledger, reports, statements
from advocate.billing.models import (
    INVOICE_STATUSES,
    MANUAL_KINDS,
    FeeLedgerEntry,
    Invoice,
)
from advocate.billing.stripe_api import StripeNotConfigured
from advocate.cases.models import Case
from advocate.extensions import db
from advocate.links import external_url
from advocate.practices.models import Practice
from advocate.practices.services import tenant_today
from advocate.spreadsheets import CsvWriter


def _today() -> date:
    return tenant_today(g.tenant)


def _practice_or_404(practice_id: int) -> Practice:
    practice = db.session.get(Practice, practice_id)
    if practice is None:
        abort(404)
    return practice


def _invoice_or_404(invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        abort(404)
    return invoice


def _page_size() -> int:
    return current_app.config["PAGE_SIZE"]


# --------------------------------------------------------------------------- invoices


@bp.route("/")
@roles(STAFF)
def invoices():
    """List the firm's invoices with their status and what is overdue."""
    status = request.args.get("status") or None
    if status not in INVOICE_STATUSES:
        status = None
    query = select(Invoice).options(joinedload(Invoice.practice)).order_by(Invoice.id.desc())
    if status:
        query = query.where(Invoice.status == status)
    page = db.paginate(query, per_page=_page_size(), error_out=False)
    today = _today()
    summary = reports.receivables(today)
    return render_template(
        "billing/invoices.html",
        page=page,
        status=status,
        statuses=INVOICE_STATUSES,
        today=today,
        summary=summary,
    )


def _invoice_action(invoice_id: int, action: str):
    invoice = _invoice_or_404(invoice_id)
    try:
        if action == "issue":
            invoicing.issue_invoice(invoice, actor_id=g.actor.id)
        elif action == "refresh":
            if invoice.stripe_invoice_id:
                invoicing.refresh_invoice(invoice)
        else:
            invoicing.change_invoice(invoice, action, actor_id=g.actor.id)
    except (StripeNotConfigured, invoicing.InvoicingError, stripe.StripeError) as err:
        db.session.rollback()
        flash(invoicing.stripe_error_text(err), "danger")
    else:
        db.session.commit()
        flash(f"Invoice {invoice.number or invoice.id}: {invoice.status}.", "success")
    return redirect(
        request.referrer
        if request.referrer and request.referrer.startswith(request.host_url)
        else url_for("billing.invoices")
    )


@bp.route("/invoices/<int:invoice_id>/issue", methods=["POST"])
@roles(MANAGERS)
def issue(invoice_id: int):
    """Send a pending invoice to Stripe again (safe to repeat)."""
    return _invoice_action(invoice_id, "issue")


@bp.route("/invoices/<int:invoice_id>/refresh", methods=["POST"])
@roles(MANAGERS)
def refresh(invoice_id: int):
    """Re-read an invoice's status from Stripe."""
    return _invoice_action(invoice_id, "refresh")


@bp.route("/invoices/<int:invoice_id>/void", methods=["POST"])
@roles(MANAGERS)
def void(invoice_id: int):
    """Void an open invoice: its fees can be billed again."""
    return _invoice_action(invoice_id, "void")


@bp.route("/invoices/<int:invoice_id>/uncollectible", methods=["POST"])
@roles(MANAGERS)
def uncollectible(invoice_id: int):
    """Mark an open invoice uncollectible."""
    return _invoice_action(invoice_id, "mark_uncollectible")


# --------------------------------------------------------------------------- ledger


@bp.route("/practices/<int:practice_id>/ledger")
@roles(STAFF)
def practice_ledger(practice_id: int):
    """Show a practice's fee ledger, newest first."""
    practice = _practice_or_404(practice_id)
    query = ledger.practice_entries_query(practice.id).options(
        joinedload(FeeLedgerEntry.case).load_only(Case.id, Case.number)
    )
    page = db.paginate(query, per_page=_page_size(), error_out=False)
    unbilled = db.session.scalar(
        select(func.coalesce(func.sum(FeeLedgerEntry.amount), 0)).where(
            FeeLedgerEntry.id.in_(
                ledger.unbilled_entries_query(practice.id).with_only_columns(FeeLedgerEntry.id)
            )
        )
    )
    return render_template(
        "billing/ledger.html",
        practice=practice,
        page=page,
        totals=ledger.practice_totals(practice.id),
        unbilled=unbilled,
        manual_kinds=MANUAL_KINDS,
        can_manage=g.membership.role in MANAGERS,
        today=_today(),
        period=statements.default_period(_today()),
    )


def _statement_pdf(practice: Practice, back: str):
    """The practice's fee statement for ``?start=&end=`` as a PDF download, audited."""
    today = _today()
    try:
        start, end = statements.parse_period(
            request.args.get("start"), request.args.get("end"), today
        )
    except statements.StatementError as err:
        flash(f"Statement {err.field}: {err.message}", "danger")
        return redirect(back)
    st = statements.build_statement(practice, start, end, tenant=g.tenant, today=today)
    pdf = statements.render(st, g.tenant)
    audit(
        "billing.statement_exported",
        practice,
        details={
            "format": "pdf",
            "start": start.isoformat(),
            "end": end.isoformat(),
            "cases": len(st.cases),
            "receipts": len(st.receipts),
        },
    )
    db.session.commit()
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename={statements.filename(st)}",
            "Cache-Control": "no-store",
        },
    )


@bp.route("/practices/<int:practice_id>/statement.pdf")
@roles(STAFF)
def practice_statement(practice_id: int):
    """Download the practice's fee statement for a period (PDF)."""
    practice = _practice_or_404(practice_id)
    return _statement_pdf(practice, url_for("billing.practice_ledger", practice_id=practice.id))


@bp.route("/practices/<int:practice_id>/entries", methods=["POST"])
@roles(MANAGERS)
def add_entry(practice_id: int):
    """Add an adjustment or a write-off to a case of the practice, with its reason."""
    practice = _practice_or_404(practice_id)
    raw = (request.form.get("case_number") or "").strip().upper().removeprefix("C-")
    case = None
    if raw.isascii() and raw.isdigit() and len(raw) <= 9:
        case = db.session.scalar(
            select(Case).where(Case.number == int(raw), Case.practice_id == practice.id)
        )
    if case is None:
        flash("Case: enter the number of one of this practice's cases (C-000123).", "danger")
        return redirect(url_for("billing.practice_ledger", practice_id=practice.id))
    try:
        ledger.add_manual_entry(
            case,
            kind=request.form.get("kind", ""),
            amount=request.form.get("amount"),
            reason=request.form.get("reason"),
            effective_on=_today(),
            actor_id=g.actor.id,
        )
    except ledger.LedgerError as err:
        db.session.rollback()
        for field, message in err.errors:
            flash(f"{field.capitalize()}: {message}", "danger")
    else:
        db.session.commit()
        flash("Ledger entry added.", "success")
    return redirect(url_for("billing.practice_ledger", practice_id=practice.id))


@bp.route("/practices/<int:practice_id>/bill", methods=["POST"])
@roles(MANAGERS)
def bill(practice_id: int):
    """Invoice the practice's unbilled fees per its billing cadence."""
    practice = _practice_or_404(practice_id)
    prepared = invoicing.prepare_invoices(
        g.tenant.id, practice, today=_today(), actor_id=g.actor.id
    )
    db.session.commit()  # the invoices exist before Stripe is asked: a retry reuses them
    if not prepared:
        flash("Nothing to invoice: no unbilled fees for this cadence.", "info")
        return redirect(url_for("billing.practice_ledger", practice_id=practice.id))
    issued = 0
    for invoice_id in [i.id for i in prepared]:
        invoice = db.session.get(Invoice, invoice_id)
        try:
            invoicing.issue_invoice(invoice, actor_id=g.actor.id)
        except (StripeNotConfigured, stripe.StripeError) as err:
            db.session.rollback()
            flash(f"Invoice prepared but not sent: {invoicing.stripe_error_text(err)}", "danger")
            break
        db.session.commit()
        issued += 1
    if issued:
        flash(f"{issued} invoice(s) sent.", "success")
    return redirect(url_for("billing.invoices"))


@bp.route("/accrue", methods=["POST"])
@roles(MANAGERS)
def accrue():
    """Ledger every payment that has no fee entry yet (after an agreement is added)."""
    run = ledger.accrue_pending(g.tenant.id, actor_id=g.actor.id)
    db.session.commit()
    msg = f"{run.entries} entr{'y' if run.entries == 1 else 'ies'} added."
    if run.pending_case_ids:
        msg += f" {len(set(run.pending_case_ids))} case(s) wait for a fee agreement."
    flash(msg, "success")
    return redirect(
        request.referrer
        if request.referrer and request.referrer.startswith(request.host_url)
        else url_for("billing.invoices")
    )


# --------------------------------------------------------------------------- Stripe account


@bp.route("/stripe")
@roles(MANAGERS)
def stripe_settings():
    """Show how the firm is paid through Stripe."""
    return render_template(
        "billing/stripe.html",
        account=accounts.firm_account(),
        can_change=g.membership.role in OWNERS,
        platform=bool(current_app.config.get("STRIPE_API_KEY")),
    )


@bp.route("/stripe/connect", methods=["POST"])
@roles(OWNERS)
def stripe_connect():
    """Start (or resume) Stripe Connect onboarding."""
    try:
        url = accounts.start_onboarding(
            g.tenant,
            actor_id=g.actor.id,
            return_url=external_url("billing.stripe_return"),
            refresh_url=external_url("billing.stripe_settings"),
        )
    except (StripeNotConfigured, stripe.StripeError) as err:
        db.session.rollback()
        flash(invoicing.stripe_error_text(err), "danger")
        return redirect(url_for("billing.stripe_settings"))
    db.session.commit()
    return redirect(url)


@bp.route("/stripe/return")
@roles(OWNERS)
def stripe_return():
    """Come back from Stripe onboarding: read the account's status."""
    row = accounts.firm_account()
    if row is not None:
        try:
            accounts.refresh_account(row)
        except (StripeNotConfigured, stripe.StripeError) as err:
            db.session.rollback()
            flash(invoicing.stripe_error_text(err), "danger")
        else:
            db.session.commit()
    return redirect(url_for("billing.stripe_settings"))


@bp.route("/stripe/key", methods=["POST"])
@roles(OWNERS)
def stripe_key():
    """Bill on the firm's own Stripe test key instead of Connect."""
    raw_days = (request.form.get("days_until_due") or "30").strip()
    days = (
        int(raw_days)
        if (raw_days.isascii() and raw_days.isdigit()) and 1 <= int(raw_days) <= 365
        else None
    )
    if days is None:
        flash("Days until due: enter a number of days from 1 to 365.", "danger")
        return redirect(url_for("billing.stripe_settings"))
    try:
        accounts.set_test_key(
            g.tenant.id, request.form.get("api_key", ""), days_until_due=days, actor_id=g.actor.id
        )
    except accounts.AccountError as err:
        db.session.rollback()
        flash(f"API key: {err.message}", "danger")
    else:
        db.session.commit()
        flash("Stripe test key saved.", "success")
    return redirect(url_for("billing.stripe_settings"))


# --------------------------------------------------------------------------- reports


@bp.route("/reports")
@roles(STAFF)
def report():
    """Show fees earned, invoiced, collected and outstanding by month and practice."""
    rows = reports.monthly(_today())
    if request.args.get("format") == "csv":
        audit(
            "billing.report_exported",
            object_type="billing_report",
            details={"rows": len(rows), "format": "csv"},
        )
        db.session.commit()
        writer = CsvWriter()
        writer.writerow(
            ["month", "practice_id", "practice", "earned", "invoiced", "collected", "outstanding"]
        )
        for r in rows:
            writer.writerow(
                [
                    r.month,
                    r.practice_id,
                    r.practice_name,
                    r.earned,
                    r.invoiced,
                    r.collected,
                    r.outstanding,
                ]
            )
        return Response(
            writer.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=fees-by-month.csv"},
        )
    page_no = max(1, request.args.get("page", 1, type=int) or 1)
    page = reports.ListPage(rows, page_no, _page_size())
    return render_template("billing/report.html", page=page, totals=reports.totals(rows))


# --------------------------------------------------------------------------- portal


@bp.route("/statements")
@roles(PRACTICE)
def portal_statements():
    """Show the practice its fee statement and invoices."""
    from advocate.practices.portal import own_practice

    practice = own_practice()
    query = (
        select(Invoice)
        .where(Invoice.practice_id == practice.id, Invoice.status.not_in(("pending", "draft")))
        .options(selectinload(Invoice.lines))
        .order_by(Invoice.id.desc())
    )
    page = db.paginate(query, per_page=_page_size(), error_out=False)
    statement = reports.statement(practice.id)
    audit("portal.view", practice, details={"page": "statements"})
    db.session.commit()
    return render_template(
        "billing/portal_statements.html",
        practice=practice,
        page=page,
        statement=statement,
        today=_today(),
        tab="statements",
        period=statements.default_period(_today()),
    )


@bp.route("/statements/statement.pdf")
@roles(PRACTICE)
def portal_statement_pdf():
    """Download the practice's own fee statement for a period (PDF)."""
    from advocate.practices.portal import own_practice

    return _statement_pdf(own_practice(), url_for("billing.portal_statements"))
