"""Scheduled billing: ``flask --app wsgi billing run`` (cron, daily) or the RQ
job ``bill_firm_job``, per firm:

1. post the fees still pending (payments with no ledger entry yet, e.g. after
   an agreement was added): ``ledger.accrue_pending``;
2. prepare the invoices each practice's cadence calls for on the firm's today
   (per settlement: every case with unbilled fees; monthly: the last complete
   month, once): ``invoicing.prepare_invoices``;
3. issue on Stripe every invoice still pending or draft, including those an
   earlier run or a person could not send (Stripe down, account not ready).

Idempotent: what is ledgered or billed is never done again (a payment's entry
is unique, a billed entry is not billed twice, a month's statement has one
business key), and issuing reuses the invoice's idempotency keys (and, past
Stripe's 24 hours, looks the invoice up first). Each step commits on its own,
each invoice in its own transaction under a row lock (a concurrent run skips
it), so a failure loses nothing done before it. Only ids and counts are
logged: never PHI.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import stripe
from sqlalchemy import select

from advocate.billing import invoicing, ledger
from advocate.billing.models import FeeLedgerEntry, Invoice, StripeAccount
from advocate.billing.stripe_api import StripeNotConfigured, firm_stripe
from advocate.extensions import db
from advocate.practices.models import Practice
from advocate.practices.services import tenant_today
from tenants import tenant_scope
from tenants.models import Tenant

log = logging.getLogger(__name__)


@dataclass
class BillingRun:
    tenant_id: int
    today: date
    accrued: int = 0
    pending_cases: int = 0
    prepared: int = 0
    issued: int = 0
    failed: int = 0
    waiting: int = 0  # pending because the firm's Stripe is not ready
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{self.accrued} fee entr{'y' if self.accrued == 1 else 'ies'} posted",
            f"{self.prepared} invoice(s) prepared",
            f"{self.issued} issued",
        ]
        if self.pending_cases:
            parts.append(f"{self.pending_cases} case(s) wait for a fee agreement")
        if self.waiting:
            parts.append(f"{self.waiting} wait for the firm's Stripe account")
        if self.failed:
            parts.append(f"{self.failed} failed (will be retried)")
        return ", ".join(parts)


def _practices_with_unbilled() -> list[Practice]:
    ids = (
        select(FeeLedgerEntry.practice_id)
        .where(FeeLedgerEntry.id.not_in(ledger.billed_entry_ids()))
        .distinct()
    )
    return list(
        db.session.scalars(select(Practice).where(Practice.id.in_(ids)).order_by(Practice.id))
    )


def _issue_pending(run: BillingRun) -> None:
    ids = list(
        db.session.scalars(
            select(Invoice.id).where(Invoice.status.in_(("pending", "draft"))).order_by(Invoice.id)
        )
    )
    if not ids:
        return
    try:
        firm_stripe(db.session.scalar(select(StripeAccount)))
    except StripeNotConfigured:
        run.waiting = len(ids)
        db.session.rollback()
        return
    for invoice_id in ids:
        invoice = db.session.scalar(
            select(Invoice)
            .where(Invoice.id == invoice_id, Invoice.status.in_(("pending", "draft")))
            .with_for_update(skip_locked=True)
        )
        if invoice is None:  # issued meanwhile, or another run holds it
            db.session.rollback()
            continue
        try:
            invoicing.issue_invoice(invoice, actor_id=None)
        except (StripeNotConfigured, stripe.StripeError) as err:
            db.session.rollback()
            run.failed += 1
            run.errors.append(f"invoice {invoice_id}: {invoicing.stripe_error_text(err)}")
            log.warning(
                "billing run: tenant %s invoice %s not issued: %s",
                run.tenant_id,
                invoice_id,
                type(err).__name__,
            )
            if isinstance(err, stripe.APIConnectionError):
                break  # Stripe unreachable: the next run retries them all
            continue
        db.session.commit()
        run.issued += 1


def bill_firm(tenant_id: int, *, today: date | None = None) -> BillingRun:
    """One firm's scheduled billing (inside its tenant scope); commits."""
    with tenant_scope(tenant_id):
        try:
            tenant = db.session.get(Tenant, tenant_id)
            day = today or tenant_today(tenant)
            run = BillingRun(tenant_id, day)
            accrual = ledger.accrue_pending(tenant_id)
            db.session.commit()
            run.accrued = accrual.entries
            run.pending_cases = len(set(accrual.pending_case_ids))
            for practice in _practices_with_unbilled():
                run.prepared += len(
                    invoicing.prepare_invoices(tenant_id, practice, today=day, actor_id=None)
                )
            db.session.commit()  # the invoices exist before Stripe is asked
            _issue_pending(run)
        except Exception:
            db.session.rollback()
            raise
    log.info("billing run: tenant %s on %s: %s", tenant_id, day, run.summary())
    return run


def bill_firm_job(tenant_id: int, on: str | None = None) -> dict:
    """RQ job (``advocate.jobs.enqueue``): ``bill_firm`` for ``on`` (YYYY-MM-DD,
    default: the firm's today). Safe to deliver twice."""
    run = bill_firm(tenant_id, today=date.fromisoformat(on) if on else None)
    return {
        "tenant_id": tenant_id,
        "accrued": run.accrued,
        "prepared": run.prepared,
        "issued": run.issued,
        "failed": run.failed,
        "waiting": run.waiting,
    }


def enqueue_firm(tenant_id: int, on: str | None = None):
    """Run a firm's billing in the background (now, without Redis)."""
    from advocate import jobs

    return jobs.enqueue(bill_firm_job, tenant_id, on, queue_name="default")
