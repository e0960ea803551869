"""Bulk writes shared by the importers: cases with their lines, payments, case
events and audit rows as multi-row INSERTs (one statement per few thousand
rows instead of an ORM flush per object).

The rows are what `cases.services.create_case` / `add_payment` would write:
the same columns, the same totals (`recompute_totals`' formulas), the same
"first positive payment is the initial payment" rule, a timeline event and an
audit row for each. Everything flushes inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask import has_request_context, request
from sqlalchemy import any_, bindparam, insert, update

from advocate.audit.models import AuditEvent
from advocate.cases import services as case_services
from advocate.cases.models import Case, CaseEvent, Payment, ServiceLine
from advocate.db import utcnow
from advocate.extensions import db
from tenants import TenantScopeError, current_tenant_id

ZERO = Decimal("0.00")
ROWS_PER_STATEMENT = 5_000
NSA_NOTE = "NSA remark codes on the remittance: review No Surprises Act eligibility"


def chunks(values: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


# Rows are written with Core, keys being column names; tenant_id is always
# given (PostgreSQL's row-level security checks it, and Writer refuses another
# firm's id). On PostgreSQL each batch is ONE statement with ONE parameter,
#     INSERT INTO t (cols) SELECT cols FROM json_populate_recordset(NULL::t, $1)
# the rows as a JSON document (encoded by the json module's C encoder), ids
# drawn from the table's sequence first. Measured against the alternatives:
# multi-row VALUES with thousands of parameters is several times slower to
# plan, a statement per row several times slower to run, and unnest() of
# typed arrays spends its time in the driver's per-element array encoding.
# COPY is not an option: PostgreSQL refuses COPY FROM into tables with
# row-level security. SQLite gets executemany. Every column with a Python-side
# default must be in the rows (checked), since these paths skip the ORM.

PG_BATCH = 20_000


def _is_pg() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _columns(table, rows: list[dict]) -> list:
    keys = set(rows[0])
    for r in rows:
        if r.keys() != keys:
            raise ValueError(f"rows for {table.name} do not all have the same keys")
    missing = [
        c.name
        for c in table.columns
        if c.name not in keys
        and c.default is not None
        and not c.primary_key
        and c.name != "tenant_id"
    ]
    if missing or "tenant_id" in table.columns and "tenant_id" not in keys:
        raise ValueError(f"rows for {table.name} lack {', '.join(missing) or 'tenant_id'}")
    return [c for c in table.columns if c.name in keys]


def _recordset(rows: Sequence[dict]) -> str:
    # str() renders every non-JSON value the rows hold as PostgreSQL reads it:
    # Decimal "123.45", date "2024-06-14", datetime "2024-06-14 09:30:00+00:00"
    # (timezone-aware UTC). A builtin default keeps the C encoder at full speed.
    return json.dumps(list(rows), default=str, separators=(",", ":"))


def _pg_insert(table, columns: list, rows: Sequence[dict]) -> None:
    names = ", ".join(f'"{c.name}"' for c in columns)
    # Identifiers come from the model's metadata; the rows are one bound parameter.
    sql = (
        f'INSERT INTO "{table.name}" ({names}) SELECT {names} '  # noqa: S608
        f'FROM json_populate_recordset(NULL::"{table.name}", %s::json)'
    )
    db.session.connection().exec_driver_sql(sql, (_recordset(rows),))


def _pg_ids(table, n: int) -> list[int]:
    rows = db.session.connection().exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        (table.name, n),
    )
    return [r[0] for r in rows]


def in_values(column, values: Sequence):
    """`column IN (values)`; on PostgreSQL `column = ANY(array)`: one parameter, not thousands."""
    if _is_pg():
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def insert_returning_ids(model, rows: list[dict]) -> list[int]:
    """INSERT the rows and return their ids, in the rows' order."""
    if not rows:
        return []
    table = model.__table__
    if _is_pg():
        ids = _pg_ids(table, len(rows))
        rows = [{**r, "id": i} for r, i in zip(rows, ids, strict=True)]
        columns = _columns(table, rows)
        for chunk in chunks(rows, PG_BATCH):
            _pg_insert(table, columns, chunk)
        return ids
    _columns(table, rows)
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.connection().execute(stmt, rows).scalars())


def insert_rows(model, rows: list[dict]) -> None:
    """INSERT the rows (ids from the table's default)."""
    if not rows:
        return
    table = model.__table__
    columns = _columns(table, rows)
    for chunk in chunks(rows, PG_BATCH if _is_pg() else ROWS_PER_STATEMENT):
        if _is_pg():
            _pg_insert(table, columns, chunk)
        else:
            db.session.connection().execute(insert(table), list(chunk))


def update_by_id(model, tenant_id: int, rows: list[dict]) -> None:
    """UPDATE rows of the firm by id: each dict is {"id": ..., column: value, ...}."""
    if not rows:
        return
    table = model.__table__
    keys = [k for k in rows[0] if k != "id"]
    if _is_pg():
        sets = ", ".join(f'"{k}" = v."{k}"' for k in keys)
        sql = (
            f'UPDATE "{table.name}" AS t SET {sets} '  # noqa: S608 - names from the model
            f'FROM json_populate_recordset(NULL::"{table.name}", %s::json) AS v '
            "WHERE t.id = v.id AND t.tenant_id = %s"
        )
        for chunk in chunks(rows, PG_BATCH):
            db.session.connection().exec_driver_sql(sql, (_recordset(chunk), tenant_id))
        return
    stmt = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.tenant_id == tenant_id)
        .values({k: bindparam(f"b_{k}") for k in keys})
    )
    for chunk in chunks(rows, ROWS_PER_STATEMENT):
        db.session.connection().execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in chunk])


def amount_at_stake(
    billed: Decimal,
    expected: Decimal | None,
    paid: Decimal,
    resp: Decimal,
    agreed: Decimal | None = None,
) -> Decimal:
    """advocate.cases.figures.amount_at_stake (the one rule)."""
    from advocate.cases.figures import amount_at_stake as rule

    return rule(billed=billed, expected=expected, agreed=agreed, paid=paid, resp=resp)


class Writer:
    """Collects case events and audit rows; the request's audit context is captured once."""

    def __init__(self, tenant_id: int, actor_id: int | None, remittance_id: int | None = None):
        if current_tenant_id() != tenant_id:
            # Core INSERTs skip the ORM's tenant check: refuse to write for another firm.
            raise TenantScopeError(
                f"writing rows of tenant {tenant_id} with tenant {current_tenant_id()} in scope"
            )
        self.tenant_id = tenant_id
        self.actor_id = actor_id
        self.remittance_id = remittance_id
        self.events: list[dict] = []
        self.audits: list[dict] = []
        if has_request_context():
            self.ctx = {
                "ip": request.remote_addr,
                "method": request.method,
                "path": request.path[:255],
            }
        else:
            self.ctx = {"ip": None, "method": None, "path": None}
        self.now = utcnow()

    def event(self, case_id: int, kind: str, summary: str, data: dict | None = None) -> None:
        self.events.append(
            {
                "tenant_id": self.tenant_id,
                "case_id": case_id,
                "at": self.now,
                "kind": kind,
                "summary": summary[:500],
                "body": None,
                "data": data,
                "actor_id": self.actor_id,
                "is_internal": False,
            }
        )

    def audit(
        self, action: str, object_type: str, object_id: int, details: dict, phi: bool = False
    ) -> None:
        self.audits.append(
            {
                "tenant_id": self.tenant_id,
                "user_id": self.actor_id,
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "is_phi": phi,
                "details": details,
                "at": self.now,
                **self.ctx,
            }
        )

    def flush(self) -> None:
        insert_rows(CaseEvent, self.events)
        insert_rows(AuditEvent, self.audits)
        self.events, self.audits = [], []


@dataclass
class PaymentDraft:
    amount: Decimal
    paid_on: date
    reference: str | None
    note: str
    is_reversal: bool = False
    is_initial: bool = False
    payment_id: int | None = None


@dataclass
class CaseDraft:
    """A new case: validate_case_input's cleaned header and lines, its payments."""

    clean: dict
    lines: list[dict]
    payments: list[PaymentDraft] = field(default_factory=list)
    nsa: bool = False
    opened: str = "Case opened"
    via: str = "import"
    case_id: int | None = None


def payment_row(w: Writer, case_id: int, p: PaymentDraft) -> dict:
    return {
        "tenant_id": w.tenant_id,
        "case_id": case_id,
        "paid_on": p.paid_on,
        "amount": p.amount,
        "source": "remittance",
        "reference": p.reference[:80] if p.reference else None,
        "is_initial": p.is_initial,
        "remittance_id": w.remittance_id,
        "note": p.note[:500],
        "created_by_id": w.actor_id,
        "created_at": w.now,
        "updated_at": w.now,
    }


def insert_payments(w: Writer, posted: list[tuple[int, PaymentDraft]]) -> None:
    """Insert payments (case id, draft) with a timeline event and an audit row each."""
    rows = [payment_row(w, case_id, p) for case_id, p in posted]
    ids = insert_returning_ids(Payment, rows)
    for (case_id, p), pay_id in zip(posted, ids, strict=True):
        p.payment_id = pay_id
        if p.is_reversal:
            kind = "Reversal"
        elif p.is_initial:
            kind = "Initial payment"
        else:
            kind = "Recoupment" if p.amount < 0 else "Payment"
        data = {"payment_id": pay_id, "amount": str(p.amount)}
        details = {"case_id": case_id}
        if w.remittance_id is not None:
            data["remittance_id"] = details["remittance_id"] = w.remittance_id
        ref = f", {p.reference}" if p.reference else ""
        w.event(case_id, "payment", f"{kind} {p.amount:,.2f} (remittance{ref})", data)
        w.audit("payment.created", "payments", pay_id, details)


def insert_cases(w: Writer, drafts: list[CaseDraft]) -> None:
    """Open the drafted cases at intake, with lines, payments, events and audit rows."""
    if not drafts:
        return
    first_number = case_services.reserve_case_numbers(w.tenant_id, len(drafts))
    rows = []
    for i, d in enumerate(drafts):
        billed = sum((ln["billed"] for ln in d.lines), ZERO)
        resp = sum((ln["patient_resp"] for ln in d.lines), ZERO)
        total = initial = ZERO
        received: date | None = d.clean.get("initial_payment_received_on")
        has_initial = False
        for p in d.payments:
            # add_payment's rule: the first positive payment is the initial payment.
            p.is_initial = not has_initial and p.amount > 0
            if p.is_initial:
                has_initial = True
                initial = p.amount
                received = received or p.paid_on
            total += p.amount
        rows.append(
            {
                **d.clean,
                "tenant_id": w.tenant_id,
                "number": first_number + i,
                "status": "intake",
                "opened_at": w.now,
                "billed_total": billed,
                "allowed_total": sum((ln["allowed"] or ZERO for ln in d.lines), ZERO),
                "patient_resp_total": resp,
                "initial_paid": initial,
                "total_paid": total,
                "amount_at_stake": amount_at_stake(billed, None, total, resp),
                "nsa_flagged": d.nsa,
                "initial_payment_received_on": received,
                "created_at": w.now,
                "updated_at": w.now,
            }
        )
    ids: list[int] = []
    for chunk in chunks(rows, ROWS_PER_STATEMENT):
        ids += insert_returning_ids(Case, list(chunk))
    line_rows = []
    posted: list[tuple[int, PaymentDraft]] = []
    for d, case_id in zip(drafts, ids, strict=True):
        d.case_id = case_id
        line_rows += [{**ln, "tenant_id": w.tenant_id, "case_id": case_id} for ln in d.lines]
        posted += [(case_id, p) for p in d.payments if p.amount != 0]
        n = len(d.lines)
        data = {"remittance_id": w.remittance_id} if w.remittance_id is not None else None
        w.event(case_id, "created", f"{d.opened} ({n} line{'s' if n != 1 else ''})", data)
        details = {"via": d.via}
        if w.remittance_id is not None:
            details["remittance_id"] = w.remittance_id
        w.audit("case.created", "case", case_id, details, phi=True)
        if d.nsa:
            w.event(case_id, "note", NSA_NOTE, data)
    insert_rows(ServiceLine, line_rows)
    insert_payments(w, posted)
