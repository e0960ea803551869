"""Billing figures: receivables, fees by month and practice, a practice's statement.

Each figure is a grouped query (by practice and day) folded into months in
Python, so the SQL is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from advocate.billing.models import ZERO, FeeLedgerEntry, Invoice
from advocate.extensions import db
from advocate.practices.models import Practice

BILLED = ("open", "paid", "uncollectible")


def _dec(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


@dataclass
class Receivables:
    open_count: int
    outstanding: Decimal
    overdue_count: int
    overdue: Decimal


def receivables(today: date) -> Receivables:
    row = db.session.execute(
        select(
            func.count(Invoice.id),
            func.coalesce(func.sum(Invoice.amount_remaining), 0),
        ).where(Invoice.status == "open")
    ).one()
    late = db.session.execute(
        select(
            func.count(Invoice.id),
            func.coalesce(func.sum(Invoice.amount_remaining), 0),
        ).where(Invoice.status == "open", Invoice.due_on < today, Invoice.amount_remaining > 0)
    ).one()
    return Receivables(row[0], _dec(row[1]), late[0], _dec(late[1]))


@dataclass
class MonthRow:
    month: str
    practice_id: int
    practice_name: str
    earned: Decimal = ZERO
    invoiced: Decimal = ZERO
    collected: Decimal = ZERO
    outstanding: Decimal = ZERO


def monthly(today: date) -> list[MonthRow]:
    """Fees earned (ledger), invoiced, collected and outstanding, by month and practice."""
    rows: dict[tuple[str, int], MonthRow] = {}
    names = dict(db.session.execute(select(Practice.id, Practice.name)).all())

    def row(day: date, practice_id: int) -> MonthRow:
        key = (f"{day:%Y-%m}", practice_id)
        if key not in rows:
            rows[key] = MonthRow(key[0], practice_id, names.get(practice_id, f"#{practice_id}"))
        return rows[key]

    for practice_id, day, total in db.session.execute(
        select(
            FeeLedgerEntry.practice_id, FeeLedgerEntry.effective_on, func.sum(FeeLedgerEntry.amount)
        ).group_by(FeeLedgerEntry.practice_id, FeeLedgerEntry.effective_on)
    ):
        row(day, practice_id).earned += _dec(total)
    for practice_id, day, total in db.session.execute(
        select(Invoice.practice_id, Invoice.issued_on, func.sum(Invoice.total))
        .where(Invoice.status.in_(BILLED))
        .group_by(Invoice.practice_id, Invoice.issued_on)
    ):
        row(day, practice_id).invoiced += _dec(total)
    for practice_id, day, remaining in db.session.execute(
        select(Invoice.practice_id, Invoice.issued_on, func.sum(Invoice.amount_remaining))
        .where(Invoice.status == "open")
        .group_by(Invoice.practice_id, Invoice.issued_on)
    ):
        row(day, practice_id).outstanding += _dec(remaining)
    for practice_id, paid_at, paid in db.session.execute(
        select(Invoice.practice_id, Invoice.paid_at, Invoice.amount_paid).where(
            Invoice.status == "paid", Invoice.paid_at.is_not(None)
        )
    ):
        row(paid_at.date(), practice_id).collected += _dec(paid)
    return sorted(rows.values(), key=lambda r: (r.month, r.practice_name), reverse=True)


def totals(rows: list[MonthRow]) -> MonthRow:
    total = MonthRow("all", 0, "All practices")
    for r in rows:
        total.earned += r.earned
        total.invoiced += r.invoiced
        total.collected += r.collected
        total.outstanding += r.outstanding
    return total


class ListPage:
    """A page of an in-memory list, shaped like Flask-SQLAlchemy's Pagination."""

    def __init__(self, items: list, page: int, per_page: int):
        self.total = len(items)
        self.per_page = per_page
        self.pages = max(1, math.ceil(self.total / per_page))
        self.page = min(max(1, page), self.pages)
        start = (self.page - 1) * per_page
        self.items = items[start : start + per_page]
        self.has_prev = self.page > 1
        self.has_next = self.page < self.pages
        self.prev_num = self.page - 1 if self.has_prev else None
        self.next_num = self.page + 1 if self.has_next else None

    def iter_pages(self, left_edge=2, left_current=2, right_current=4, right_edge=2):
        last = 0
        for num in range(1, self.pages + 1):
            if (
                num <= left_edge
                or self.page - left_current - 1 < num < self.page + right_current
                or num > self.pages - right_edge
            ):
                if last + 1 != num:
                    yield None
                yield num
                last = num

    def __iter__(self):
        return iter(self.items)


@dataclass
class Statement:
    fees: Decimal
    invoiced: Decimal
    paid: Decimal
    balance: Decimal  # invoiced and not yet paid (open invoices)
    unbilled: Decimal


def statement(practice_id: int) -> Statement:
    """The practice's account with the firm: fees earned, invoiced, paid, owed."""
    fees = db.session.scalar(
        select(func.coalesce(func.sum(FeeLedgerEntry.amount), 0)).where(
            FeeLedgerEntry.practice_id == practice_id
        )
    )
    inv = db.session.execute(
        select(
            func.coalesce(func.sum(Invoice.total), 0),
            func.coalesce(func.sum(Invoice.amount_paid), 0),
        ).where(Invoice.practice_id == practice_id, Invoice.status.in_(BILLED))
    ).one()
    balance = db.session.scalar(
        select(func.coalesce(func.sum(Invoice.amount_remaining), 0)).where(
            Invoice.practice_id == practice_id, Invoice.status == "open"
        )
    )
    billed_pending = db.session.scalar(
        select(func.coalesce(func.sum(Invoice.total), 0)).where(
            Invoice.practice_id == practice_id, Invoice.status.in_(("pending", "draft"))
        )
    )
    fees, invoiced = _dec(fees), _dec(inv[0])
    return Statement(
        fees=fees,
        invoiced=invoiced,
        paid=_dec(inv[1]),
        balance=_dec(balance),
        unbilled=fees - invoiced - _dec(billed_pending),
    )
