"""Generate one large firm for caseload benchmarks: N cases (default 100,000)
with about three service lines each, payments, communications, timeline
events, deadlines and documents' metadata (no stored files), spread over
realistic payers, practices, advocates, statuses, dates and amounts.
Deterministic for a given --seed, --cases and --today. With --firms 10
(`make bench-data`) nine smaller firms (0.5 to 8 % of the big one) sit
beside it, each with its own seed.

It loads PostgreSQL with COPY as the schema owner (MIGRATION_DATABASE_URL),
in one transaction. FORCE ROW LEVEL SECURITY applies to the owner too, so the
firm's id is set with set_config(..., true) first; and as PostgreSQL refuses
COPY FROM into a table with RLS in force, each table's rows are copied into a
temporary table and moved with INSERT ... SELECT (checked by the policy).
Ids come from each table's own sequence (a block is reserved), so the firm
sits beside whatever else the database holds.

    MIGRATION_DATABASE_URL=postgresql://advocate_owner@127.0.0.1:5432/advocate \\
        .venv/bin/python bench/generate_cases.py --cases 100000 --seed 7 --replace

The schema must be migrated first (`flask --app wsgi db upgrade heads`;
`make bench-data` does both). Every generated person has the password
BENCH_PASSWORD and no second factor yet (bench/time_caseload.py enrols one).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
BENCH_PASSWORD = "bench-password-not-for-production-1"  # noqa: S105 (benchmark data only)
CHUNK = 5_000  # cases per round of COPYs: memory stays flat whatever N

PAYERS = [
    "UnitedHealthcare",
    "Aetna",
    "Cigna",
    "Anthem Blue Cross",
    "Humana",
    "Blue Cross Blue Shield of Texas",
    "Blue Shield of California",
    "Kaiser Permanente",
    "Florida Blue",
    "Highmark",
    "Oscar Health",
    "Molina Healthcare",
    "Centene Ambetter",
    "Independence Blue Cross",
    "Horizon BCBS of New Jersey",
    "EmblemHealth",
    "Tufts Health Plan",
    "Harvard Pilgrim",
    "Premera Blue Cross",
    "Regence BlueShield",
    "CareFirst",
    "Excellus BCBS",
    "Wellmark",
    "Priority Health",
    "Medica",
    "HealthPartners",
    "UMR",
    "Meritain Health",
    "Allied Benefit Systems",
    "GEHA",
]
PLAN_TYPES = [
    "erisa_self_funded",
    "fully_insured",
    "medicare_advantage",
    "medicaid_managed_care",
    "other",
]
PLAN_WEIGHTS = [45, 35, 10, 5, 5]
SPECIALTIES = [
    "Emergency medicine",
    "Anesthesiology",
    "Orthopedic surgery",
    "Neurosurgery",
    "Radiology",
    "General surgery",
    "Plastic surgery",
    "Pathology",
    "Neonatology",
    "Ambulance services",
]
STATES = ["NY", "NJ", "TX", "CA", "FL", "PA", "IL", "GA", "AZ", "CO", "WA", "MA"]
FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Maria",
    "Wei",
    "Mei",
    "Ahmed",
    "Fatima",
    "Olga",
    "Ivan",
    "Priya",
    "Raj",
    "Kofi",
    "Ama",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Nguyen",
    "Kim",
    "Patel",
    "Chen",
    "Okafor",
    "Kowalski",
    "Ivanova",
    "Cohen",
    "Murphy",
    "O'Brien",
]
# (code, place of service, typical billed charge)
CODES = [
    ("99285", "23", 2400),
    ("99284", "23", 1500),
    ("99283", "23", 800),
    ("99291", "23", 3100),
    ("00790", "22", 4200),
    ("01402", "21", 5200),
    ("27447", "21", 42000),
    ("29881", "22", 9800),
    ("63030", "21", 31000),
    ("22551", "21", 58000),
    ("64483", "22", 3600),
    ("62323", "11", 2900),
    ("70450", "23", 1900),
    ("74177", "23", 3300),
    ("71046", "23", 420),
    ("15734", "21", 21000),
    ("19318", "21", 24000),
    ("88305", "81", 390),
    ("99468", "21", 6100),
    ("A0427", "41", 2600),
    ("A0425", "41", 38),
    ("36415", "23", 40),
    ("12002", "23", 620),
    ("10060", "11", 700),
]
OPEN_STATUSES = [
    ("intake", 8),
    ("gathering_evidence", 12),
    ("ready_to_negotiate", 8),
    ("negotiating", 26),
    ("appeal", 14),
    ("nsa_open_negotiation", 9),
    ("nsa_idr", 6),
    ("sca", 4),
    ("settled", 6),
    ("paid", 7),
]
CLOSED_STATUSES = [
    ("closed_won", 45),
    ("closed_partial", 25),
    ("closed_lost", 20),
    ("withdrawn", 10),
]
NSA_STATUSES = {"nsa_open_negotiation", "nsa_idr"}


def money(x: float | Decimal) -> Decimal:
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


def npi_with_check_digit(base9: str) -> str:
    digits = [int(c) for c in "80840" + base9]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return base9 + str((10 - total % 10) % 10)


def zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1 / (k**s) for k in range(1, n + 1)]


@dataclass
class Ids:
    """A block of ids reserved from one table's sequence."""

    next: int
    last: int

    def take(self) -> int:
        if self.next > self.last:
            raise RuntimeError("id block exhausted")
        n = self.next
        self.next += 1
        return n


@dataclass
class Firm:
    tenant_id: int
    user_ids: list[int]
    advocate_ids: list[int]
    practices: list[tuple[int, str]]  # (id, state)
    payer_ids: list[int]
    counts: dict[str, int] = field(default_factory=dict)


def connect(url: str):
    import psycopg

    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql://" + url[len(prefix) :]
    return psycopg.connect(url)


def reserve(cur, table: str, n: int) -> Ids:
    """Take n ids from the table's sequence in one step."""
    if n == 0:
        return Ids(1, 0)
    cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,))
    seq = cur.fetchone()[0]
    cur.execute("SELECT nextval(%s::regclass)", (seq,))
    first = cur.fetchone()[0]
    cur.execute("SELECT setval(%s::regclass, %s)", (seq, first + n - 1))
    return Ids(first, first + n - 1)


_staged: set[str] = set()


def copy_rows(cur, table: str, columns: tuple[str, ...], rows) -> int:
    """COPY rows into `table`. PostgreSQL refuses COPY FROM into a table whose
    row-level security applies to the caller (FORCE makes it apply to the
    owner too), so the rows go into a temporary copy of the table first and
    on with one INSERT ... SELECT, which RLS checks row by row against the
    firm set for the transaction. RLS is never switched off."""
    from psycopg import sql

    stage = f"stage_{table}"
    if stage not in _staged:
        cur.execute(
            sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
                sql.Identifier(stage), sql.Identifier(table)
            )
        )
        _staged.add(stage)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    n = 0
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(stage), cols)) as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    cur.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
            sql.Identifier(table), cols, cols, sql.Identifier(stage)
        )
    )
    cur.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(stage)))
    return n


def set_tenant(cur, tenant_id: int) -> None:
    cur.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))


# --------------------------------------------------------------------------- the firm's people and directory


def make_firm(
    cur,
    rng: random.Random,
    *,
    slug: str,
    name: str,
    n_practices: int,
    n_payers: int,
    n_advocates: int,
) -> Firm:
    from argon2 import PasswordHasher

    cur.execute(
        "INSERT INTO tenants (name, slug, letterhead_name, timezone, is_active) VALUES (%s, %s, %s, %s, true) "
        "RETURNING id",
        (name, slug, name, "America/New_York"),
    )
    tenant_id = cur.fetchone()[0]
    set_tenant(cur, tenant_id)
    pw = PasswordHasher(
        time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16
    ).hash(BENCH_PASSWORD)
    now = datetime.now(UTC)
    people = (
        [("owner", "Olivia Owner")]
        + [("admin", f"Adam Admin {i}") for i in (1, 2)]
        + [
            ("advocate", f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}")
            for i in range(1, n_advocates + 1)
        ]
        + [("viewer", "Vera Viewer")]
    )
    uids = reserve(cur, "users", len(people))
    mids = reserve(cur, "memberships", len(people))
    users, members, user_ids, advocate_ids = [], [], [], []
    for i, (role, person) in enumerate(people):
        uid = uids.take()
        users.append(
            (uid, f"{role}{i}@{slug}.bench.example.com", person, pw, now, False, True, now)
        )
        members.append((mids.take(), tenant_id, uid, role, True))
        user_ids.append(uid)
        if role == "advocate":
            advocate_ids.append(uid)
    # Row-level security on users (forced, so for the owner too) admits a new
    # account only under its own address: one INSERT per person, each with it.
    for row in users:
        cur.execute("SELECT set_config('app.email', %s, true)", (row[1],))
        cur.execute(
            "INSERT INTO users (id, email, name, password_hash, password_changed_at,"
            " is_totp_enabled, is_active, email_verified_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            row,
        )
    cur.execute("SELECT set_config('app.email', '', true)")
    copy_rows(cur, "memberships", ("id", "tenant_id", "user_id", "role", "is_active"), members)

    pids = reserve(cur, "practices", n_practices)
    practices, prows = [], []
    for i in range(n_practices):
        pid = pids.take()
        st = rng.choice(STATES)
        specialty = SPECIALTIES[i % len(SPECIALTIES)]
        npi = npi_with_check_digit(f"{100000000 + rng.randrange(899999999):09d}")
        prows.append(
            (
                pid,
                tenant_id,
                f"{rng.choice(LAST)} {specialty} Group {i + 1}",
                npi,
                f"{rng.randrange(10**8, 10**9)}",
                specialty,
                f"{rng.randrange(1, 9999)} Main Street",
                "Springfield",
                st,
                f"{rng.randrange(10000, 99999)}",
                "11",
                "active",
            )
        )
        practices.append((pid, st))
    copy_rows(
        cur,
        "practices",
        (
            "id",
            "tenant_id",
            "name",
            "npi",
            "tin",
            "specialty",
            "address_line1",
            "city",
            "state",
            "zip",
            "default_pos",
            "status",
        ),
        prows,
    )

    yids = reserve(cur, "payers", n_payers)
    payer_ids, yrows = [], []
    for i in range(n_payers):
        yid = yids.take()
        pname = PAYERS[i] if i < len(PAYERS) else f"Regional Health Plan {i + 1}"
        yrows.append(
            (
                yid,
                tenant_id,
                pname,
                " ".join(pname.casefold().split()),
                json.dumps(rng.sample(PLAN_TYPES[:3], 2)),
            )
        )
        payer_ids.append(yid)
    copy_rows(cur, "payers", ("id", "tenant_id", "name", "name_key", "plan_types"), yrows)
    return Firm(tenant_id, user_ids, advocate_ids, practices, payer_ids)


# --------------------------------------------------------------------------- cases

CASE_COLS = (
    "id",
    "tenant_id",
    "number",
    "practice_id",
    "payer_id",
    "plan_type",
    "patient_first_name",
    "patient_last_name",
    "patient_dob",
    "member_id",
    "rendering_npi",
    "payer_claim_number",
    "patient_control_number",
    "service_from",
    "service_to",
    "place_of_service",
    "service_type",
    "facility_in_network",
    "state",
    "status",
    "appeal_level",
    "assignee_id",
    "opened_at",
    "closed_at",
    "billed_total",
    "allowed_total",
    "patient_resp_total",
    "initial_paid",
    "total_paid",
    "expected_payment",
    "amount_at_stake",
    "target_amount",
    "floor_amount",
    "agreed_amount",
    "is_nsa_eligible",
    "nsa_flagged",
    "initial_payment_received_on",
    "next_deadline_on",
    "next_follow_up_on",
)
LINE_COLS = (
    "id",
    "tenant_id",
    "case_id",
    "line_no",
    "code",
    "modifiers",
    "units",
    "service_date",
    "place_of_service",
    "billed",
    "allowed",
    "paid",
    "patient_resp",
    "adjustments",
    "remark_codes",
)
PAYMENT_COLS = (
    "id",
    "tenant_id",
    "case_id",
    "paid_on",
    "amount",
    "source",
    "reference",
    "is_initial",
    "note",
    "created_by_id",
)
COMM_COLS = (
    "id",
    "tenant_id",
    "case_id",
    "kind",
    "direction",
    "occurred_at",
    "contact_name",
    "reference_number",
    "summary",
    "outcome",
    "follow_up_on",
    "follow_up_done_at",
    "actor_id",
)
EVENT_COLS = (
    "id",
    "tenant_id",
    "case_id",
    "at",
    "kind",
    "summary",
    "data",
    "actor_id",
    "is_internal",
)
DEADLINE_COLS = (
    "id",
    "tenant_id",
    "case_id",
    "kind",
    "label",
    "due_on",
    "rule",
    "is_manual",
    "is_done",
    "done_at",
    "done_by_id",
)
DOCUMENT_COLS = (
    "id",
    "tenant_id",
    "owner_type",
    "owner_id",
    "category",
    "filename",
    "kind",
    "content_type",
    "size_bytes",
    "sha256",
    "storage_key",
    "uploaded_by_id",
    "is_missing",
)
# (category, file name stem, weight): metadata only, no stored objects.
DOCUMENT_KINDS = [
    ("eob", "EOB", 40),
    ("medical_records", "Medical-records", 20),
    ("correspondence", "Payer-letter", 20),
    ("operative_note", "Operative-note", 8),
    ("appeal_decision", "Appeal-decision", 7),
    ("authorization", "Authorization", 5),
]
# The deadline a case's next_deadline_on stands for, by status.
DEADLINE_KIND = {
    "appeal": "appeal_l1",
    "nsa_open_negotiation": "nsa_notice",
    "nsa_idr": "offers_due",
    "intake": "timely_filing",
    "gathering_evidence": "timely_filing",
}


@dataclass
class Chunk:
    cases: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    payments: list = field(default_factory=list)
    comms: list = field(default_factory=list)
    events: list = field(default_factory=list)
    deadlines: list = field(default_factory=list)
    documents: list = field(default_factory=list)


class CaseMaker:
    """Draws cases from the distributions; all randomness from one seeded RNG."""

    def __init__(self, rng: random.Random, firm: Firm, today: date):
        self.rng, self.firm, self.today = rng, firm, today
        # "Now" is the start of `today`: the data depends on the seed and the day only.
        self.now = datetime(today.year, today.month, today.day, tzinfo=UTC)
        self.payer_w = zipf_weights(len(firm.payer_ids))
        self.practice_w = zipf_weights(len(firm.practices), 0.8)
        self.adv_w = [rng.uniform(0.5, 1.5) for _ in firm.advocate_ids]
        self.open_s, self.open_w = zip(*OPEN_STATUSES, strict=True)
        self.closed_s, self.closed_w = zip(*CLOSED_STATUSES, strict=True)
        self.ids: dict[str, Ids] = {}
        # Deadlines and documents draw from their own stream, so adding them
        # left every case, line, payment and event of a seed as it was.
        self.extra = random.Random(rng.random())

    def reserve_chunk(self, cur, size: int) -> None:
        # Upper bounds per case: 6 lines, 4 payments, 6 communications, 20 events.
        for table, per in (
            ("cases", 1),
            ("service_lines", 6),
            ("payments", 4),
            ("communications", 6),
            ("case_events", 20),
            ("case_deadlines", 3),
            ("documents", 5),
        ):
            self.ids[table] = reserve(cur, table, size * per)

    def opened(self) -> datetime:
        # Three years of intake, growing: more recent cases are more common.
        days_ago = int(1095 * (1 - math.sqrt(self.rng.random())))
        day = self.today - timedelta(days=days_ago)
        return datetime(
            day.year,
            day.month,
            day.day,
            self.rng.randrange(12, 23),
            self.rng.randrange(60),
            tzinfo=UTC,
        )

    def make(self, number: int, out: Chunk) -> None:
        rng, firm, t = self.rng, self.firm, self.firm.tenant_id
        ids = self.ids
        cid = ids["cases"].take()
        practice_id, state = rng.choices(firm.practices, weights=self.practice_w)[0]
        payer_id = rng.choices(firm.payer_ids, weights=self.payer_w)[0]
        plan_type = rng.choices(PLAN_TYPES, weights=PLAN_WEIGHTS)[0]
        opened_at = self.opened()
        age = (self.today - opened_at.date()).days
        service_to = opened_at.date() - timedelta(days=rng.randrange(20, 120))
        service_from = service_to - timedelta(days=rng.choice([0, 0, 0, 0, 1, 2, 5]))
        nsa = rng.choices([True, False, None], weights=[30, 40, 30])[0]
        closed = rng.random() < min(0.92, age / 520)
        if closed:
            status = rng.choices(self.closed_s, weights=self.closed_w)[0]
        else:
            status = rng.choices(self.open_s, weights=self.open_w)[0]
            if status in NSA_STATUSES and nsa is not True:
                status = "negotiating"
        appeal_level = rng.choice([1, 1, 1, 2, 2, 3, 4]) if status == "appeal" else None
        assignee = (
            None
            if rng.random() < 0.12 and not closed
            else rng.choices(firm.advocate_ids, weights=self.adv_w)[0]
        )

        # Lines
        n_lines = rng.choices([1, 2, 3, 4, 5, 6], weights=[15, 25, 25, 17, 10, 8])[0]
        billed_total = allowed_total = presp_total = paid_total = ZERO
        pos = None
        for ln in range(1, n_lines + 1):
            code, lpos, base = rng.choice(CODES)
            pos = pos or lpos
            units = 1 if not code.startswith("A04") else rng.randrange(1, 40)
            billed = money(base * units * math.exp(rng.gauss(0, 0.35)))
            allowed = money(float(billed) * rng.uniform(0.12, 0.55))
            paid = money(float(allowed) * rng.choice([0.8, 0.8, 0.9, 1.0, 0.7]))
            presp = allowed - paid
            co45 = billed - allowed
            out.lines.append(
                (
                    ids["service_lines"].take(),
                    t,
                    cid,
                    ln,
                    code,
                    "[]",
                    Decimal(units),
                    service_from,
                    lpos,
                    billed,
                    allowed,
                    paid,
                    presp,
                    json.dumps(
                        [
                            {"group": "CO", "reason": "45", "amount": str(co45)},
                            {"group": "PR", "reason": "2", "amount": str(presp)},
                        ]
                    ),
                    json.dumps(["N864"] if nsa and rng.random() < 0.5 else []),
                )
            )
            billed_total += billed
            allowed_total += allowed
            presp_total += presp
            paid_total += paid

        # Payments: the initial one, then recoveries for settled and won cases.
        events = []
        received = service_to + timedelta(days=rng.randrange(14, 60))
        payments = [(received, paid_total, "remittance", True)]
        gap = billed_total - paid_total - presp_total
        agreed = None
        if status in ("paid", "closed_won", "closed_partial"):
            share = rng.uniform(0.5, 0.95) if status != "closed_partial" else rng.uniform(0.15, 0.5)
            recovered = money(float(gap) * share)
            agreed = paid_total + recovered
            paid_on = min(self.today, received + timedelta(days=rng.randrange(60, 300)))
            payments.append((paid_on, recovered, rng.choice(["check", "eft", "settlement"]), False))
            if rng.random() < 0.03:
                payments.append(
                    (
                        min(self.today, paid_on + timedelta(days=40)),
                        -money(float(recovered) * 0.1),
                        "recoupment",
                        False,
                    )
                )
        elif status == "settled":
            agreed = paid_total + money(float(gap) * rng.uniform(0.4, 0.9))
        total_paid = sum((p[1] for p in payments), ZERO)
        for paid_on, amount, source, initial in payments:
            pid = ids["payments"].take()
            out.payments.append(
                (
                    pid,
                    t,
                    cid,
                    paid_on,
                    amount,
                    source,
                    f"{rng.randrange(10**9, 10**10)}" if source != "remittance" else None,
                    initial,
                    None,
                    assignee,
                )
            )
            events.append(
                (
                    datetime(paid_on.year, paid_on.month, paid_on.day, 17, tzinfo=UTC),
                    "payment",
                    f"{'Initial payment' if initial else 'Payment'} {amount:,.2f} ({source})",
                    {"payment_id": pid, "amount": str(amount)},
                )
            )

        # Communications with the payer, and the follow-up they leave.
        next_follow_up = None
        n_comms = rng.choices([0, 1, 2, 3, 4, 6], weights=[15, 25, 25, 17, 12, 6])[0]
        span = max(1, min(age, 400))
        for k in range(n_comms):
            at = opened_at + timedelta(days=rng.randrange(span), minutes=rng.randrange(600))
            at = min(at, self.now - timedelta(hours=1))
            kind = rng.choices(
                ["call", "fax", "letter", "portal", "email"], weights=[50, 15, 15, 12, 8]
            )[0]
            follow = None
            if not closed and k == n_comms - 1 and rng.random() < 0.7:
                follow = self.today + timedelta(days=rng.randrange(-10, 21))
                next_follow_up = follow
            comm_id = ids["communications"].take()
            summary = f"{kind.title()} about claim status; rep asked for records"
            out.comms.append(
                (
                    comm_id,
                    t,
                    cid,
                    kind,
                    rng.choice(["outbound", "outbound", "inbound"]),
                    at,
                    f"{rng.choice(FIRST)} (rep)",
                    f"REF{rng.randrange(10**7, 10**8)}",
                    summary,
                    None,
                    follow,
                    None,
                    assignee,
                )
            )
            events.append(
                (
                    at,
                    "communication",
                    f"Outbound {kind}: {summary[:60]}",
                    {"communication_id": comm_id},
                )
            )

        # The timeline: opened, a few transitions, what happened above.
        events.append(
            (
                opened_at,
                "created",
                f"Case opened ({n_lines} line{'s' if n_lines != 1 else ''})",
                None,
            )
        )
        path = {"intake": 0, "gathering_evidence": 1, "ready_to_negotiate": 2}.get(status, 3)
        for step in range(path):
            at = opened_at + timedelta(days=(step + 1) * rng.randrange(3, 20))
            events.append((min(at, self.now), "transition", "Status changed", {"step": step}))
        if assignee:
            events.append(
                (opened_at + timedelta(minutes=5), "assignment", "Assigned", {"to": assignee})
            )
        for at, kind, summary, data in events:
            out.events.append(
                (
                    ids["case_events"].take(),
                    t,
                    cid,
                    at,
                    kind,
                    summary,
                    json.dumps(data) if data is not None else None,
                    assignee,
                    False,
                )
            )

        expected = (
            money(float(billed_total) * rng.uniform(0.6, 0.9)) if rng.random() < 0.4 else None
        )
        basis = expected if expected is not None else billed_total
        at_stake = max(ZERO, basis - total_paid - presp_total)
        deadline = None
        if not closed and rng.random() < 0.85:
            deadline = self.today + timedelta(days=rng.randrange(-25, 120))
        closed_at = None
        if closed:
            closed_at = min(
                self.now, opened_at + timedelta(days=rng.randrange(60, max(61, age + 1)))
            )
        self.extras(out, cid, number, status, appeal_level, assignee, opened_at, deadline, closed)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        out.cases.append(
            (
                cid,
                t,
                number,
                practice_id,
                payer_id,
                plan_type,
                first,
                last,
                date(1940, 1, 1) + timedelta(days=rng.randrange(30000)),
                f"W{rng.randrange(10**8, 10**9)}",
                None,
                f"{rng.choice('ABCDEFGHJK')}{rng.randrange(10**10, 10**11)}",
                f"PCN{number:08d}",
                service_from,
                service_to,
                pos or "11",
                "emergency"
                if pos == "23"
                else rng.choice(["other", "nonemergency_in_network_facility"]),
                rng.choice([True, False, None]),
                state,
                status,
                appeal_level,
                assignee,
                opened_at,
                closed_at,
                billed_total,
                allowed_total,
                presp_total,
                paid_total,
                total_paid,
                expected,
                at_stake,
                money(float(basis) * 0.8) if not closed else None,
                money(float(basis) * 0.5) if not closed else None,
                agreed,
                nsa,
                bool(nsa),
                received,
                deadline,
                next_follow_up,
            )
        )

    def extras(self, out, cid, number, status, appeal_level, assignee, opened_at, deadline, closed):
        """The case's deadlines (the open one its next_deadline_on names, and
        earlier ones done) and its documents' metadata."""
        x, t, ids = self.extra, self.firm.tenant_id, self.ids
        if deadline is not None:
            kind = DEADLINE_KIND.get(status, "follow_up")
            if kind == "appeal_l1" and appeal_level:
                kind = f"appeal_l{appeal_level}"
            out.deadlines.append(
                (
                    ids["case_deadlines"].take(),
                    t,
                    cid,
                    kind,
                    "Deadline (generated)"
                    if kind.startswith("appeal_l")
                    else kind.replace("_", " ").capitalize(),
                    deadline,
                    "Generated for the benchmark",
                    False,
                    False,
                    None,
                    None,
                )
            )
        for _ in range(x.choices([0, 1, 2], weights=[40, 40, 20])[0]):
            done_on = opened_at + timedelta(days=x.randrange(5, 90))
            if done_on >= self.now:
                break
            out.deadlines.append(
                (
                    ids["case_deadlines"].take(),
                    t,
                    cid,
                    "follow_up",
                    "Follow up with the payer",
                    done_on.date(),
                    "Generated for the benchmark",
                    False,
                    True,
                    done_on,
                    assignee,
                )
            )
        cats, stems, weights = zip(*DOCUMENT_KINDS, strict=True)
        n_docs = x.choices([0, 1, 2, 3, 5], weights=[20, 30, 25, 15, 10])[0]
        for k in range(n_docs):
            i = x.choices(range(len(cats)), weights=weights)[0]
            did = ids["documents"].take()
            out.documents.append(
                (
                    did,
                    t,
                    "case",
                    cid,
                    cats[i],
                    f"{stems[i]}-C{number:06d}-{k + 1}.pdf",
                    "pdf",
                    "application/pdf",
                    x.randrange(40_000, 4_000_000),
                    f"{x.getrandbits(256):064x}",
                    f"tenants/{t}/documents/bench-{did}",
                    assignee,
                    False,
                )
            )


def _helper_indexes(cur, sql) -> list[str]:
    """Deleting a firm's cases and people checks every foreign key that
    points at them; where the referencing column leads no index (e.g.
    case_events.case_id: its index starts with tenant_id), each deleted row
    would scan that whole table. Index those columns for this transaction
    only (dropped again before commit, gone on rollback)."""
    cur.execute(
        """
        SELECT c.conrelid::regclass::text, a.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND cardinality(c.conkey) = 1
          AND c.confrelid IN ('cases'::regclass, 'users'::regclass, 'tenants'::regclass)
          AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
        ORDER BY 1, 2
        """
    )
    names = []
    for n, (table, column) in enumerate(cur.fetchall()):
        name = f"bench_tmp_fk_{n}"
        cur.execute(
            sql.SQL("CREATE INDEX {} ON {} ({})").format(
                sql.Identifier(name), sql.Identifier(table), sql.Identifier(column)
            )
        )
        names.append(name)
    return names


def generate(
    url: str,
    *,
    n_cases: int,
    seed: int,
    slug: str,
    replace: bool,
    n_practices: int,
    n_payers: int,
    n_advocates: int,
    today: date | None = None,
    quiet: bool = False,
) -> dict:
    from psycopg import sql

    rng = random.Random(seed)
    today = today or date.today()  # noqa: DTZ011 (the machine's day is the benchmark's day)
    started = time.perf_counter()
    counts = dict.fromkeys(
        (
            "cases",
            "service_lines",
            "payments",
            "communications",
            "case_events",
            "case_deadlines",
            "documents",
        ),
        0,
    )
    _staged.clear()
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM tenants WHERE slug = %s", (slug,))
        old = cur.fetchone()
        if old and not replace:
            raise SystemExit(f"a firm with slug {slug!r} exists: pass --replace to regenerate it")
        if old:
            set_tenant(cur, old[0])
            helpers = _helper_indexes(cur, sql)
            # Children by tenant first: a cascade from `cases` would look each
            # case's rows up one by one.
            for table in (
                "documents",
                "case_deadlines",
                "nsa_disputes",
                "letters",
                "api_tokens",
                "case_events",
                "communications",
                "offers",
                "appeals",
                "payments",
                "service_lines",
                "cases",
                "single_case_agreements",
                "saved_filters",
                "case_counters",
            ):
                cur.execute(
                    sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)),
                    (old[0],),
                )
            cur.execute("SELECT user_id FROM memberships WHERE tenant_id = %s", (old[0],))
            old_users = [r[0] for r in cur.fetchall()]
            cur.execute("DELETE FROM tenants WHERE id = %s", (old[0],))
            cur.execute("DELETE FROM users WHERE id = ANY(%s)", (old_users,))
            for name in helpers:
                cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        firm = make_firm(
            cur,
            rng,
            slug=slug,
            name=f"Benchmark Advocacy {seed}",
            n_practices=n_practices,
            n_payers=n_payers,
            n_advocates=n_advocates,
        )
        maker = CaseMaker(rng, firm, today)
        number = 0
        while number < n_cases:
            size = min(CHUNK, n_cases - number)
            maker.reserve_chunk(cur, size)
            chunk = Chunk()
            for _ in range(size):
                number += 1
                maker.make(number, chunk)
            counts["cases"] += copy_rows(cur, "cases", CASE_COLS, chunk.cases)
            counts["service_lines"] += copy_rows(cur, "service_lines", LINE_COLS, chunk.lines)
            counts["payments"] += copy_rows(cur, "payments", PAYMENT_COLS, chunk.payments)
            counts["communications"] += copy_rows(cur, "communications", COMM_COLS, chunk.comms)
            counts["case_events"] += copy_rows(cur, "case_events", EVENT_COLS, chunk.events)
            counts["case_deadlines"] += copy_rows(
                cur, "case_deadlines", DEADLINE_COLS, chunk.deadlines
            )
            counts["documents"] += copy_rows(cur, "documents", DOCUMENT_COLS, chunk.documents)
            if not quiet:
                print(
                    f"  {number:>7,} cases  {time.perf_counter() - started:6.1f} s", file=sys.stderr
                )
        cid = reserve(cur, "case_counters", 1).take()
        cur.execute(
            "INSERT INTO case_counters (id, tenant_id, last_number) VALUES (%s, %s, %s)",
            (cid, firm.tenant_id, n_cases),
        )
        conn.commit()
        loaded = time.perf_counter() - started
        # Fresh statistics and visibility maps, as a table that autovacuum has
        # been through: the planner sees the new firm, and counts can use
        # index-only scans.
        conn.autocommit = True
        for table in (
            "users",
            "memberships",
            "practices",
            "payers",
            "cases",
            "service_lines",
            "payments",
            "communications",
            "case_events",
            "case_deadlines",
            "documents",
        ):
            cur.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
    return {
        "tenant_id": firm.tenant_id,
        "slug": slug,
        "counts": counts,
        "load_seconds": loaded,
        "total_seconds": time.perf_counter() - started,
        "advocate_user_ids": firm.advocate_ids,
    }


# The other firms of a --firms run, as shares of the big one: small and
# mid-sized firms beside the large one, as on a real shared database.
SMALL_FIRM_SHARES = (0.08, 0.05, 0.04, 0.03, 0.02, 0.015, 0.01, 0.005, 0.005)


def firm_plan(n_cases: int, seed: int, n_firms: int) -> list[dict]:
    """The firms of a run: the big one first (slug bench-<seed>-<cases>), then
    n_firms - 1 smaller ones (bench-<seed>-f<k>), each with its own seed."""
    plan = [
        {"slug": f"bench-{seed}-{n_cases}", "seed": seed, "cases": n_cases, "scale": 1.0},
    ]
    for k in range(1, n_firms):
        share = SMALL_FIRM_SHARES[(k - 1) % len(SMALL_FIRM_SHARES)]
        plan.append(
            {
                "slug": f"bench-{seed}-f{k}",
                "seed": seed * 1000 + k,
                "cases": max(20, int(n_cases * share)),
                "scale": max(0.1, share * 4),
            }
        )
    return plan


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--slug", default=None, help="the firm's slug (default bench-<seed>-<cases>)")
    p.add_argument(
        "--firms",
        type=int,
        default=1,
        help="firms to generate: the big one (--cases) and firms-1 smaller ones (1 to 8 %% of it)",
    )
    p.add_argument("--replace", action="store_true", help="delete a firm with that slug first")
    p.add_argument(
        "--keep",
        action="store_true",
        help="leave a firm that exists as it is (same seed, same data) and go on to the next",
    )
    p.add_argument("--practices", type=int, default=60)
    p.add_argument("--payers", type=int, default=40)
    p.add_argument("--advocates", type=int, default=12)
    p.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="the day the data is generated relative to (default: today); fixes the output with --seed",
    )
    args = p.parse_args(argv)
    url = os.environ.get("MIGRATION_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    if not url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        raise SystemExit("set MIGRATION_DATABASE_URL to the PostgreSQL schema owner's URL")
    plan = firm_plan(args.cases, args.seed, max(1, args.firms))
    if args.slug:
        plan[0]["slug"] = args.slug
    for firm in plan:
        if args.keep:
            with connect(url) as conn, conn.cursor() as cur:
                cur.execute("SELECT 1 FROM tenants WHERE slug = %s", (firm["slug"],))
                if cur.fetchone():
                    print(f"firm {firm['slug']} exists: kept")
                    continue
        scale = firm["scale"]
        result = generate(
            url,
            n_cases=firm["cases"],
            seed=firm["seed"],
            slug=firm["slug"],
            replace=args.replace,
            n_practices=max(3, int(args.practices * scale)),
            n_payers=max(4, int(args.payers * min(1.0, scale * 2))),
            n_advocates=max(2, int(args.advocates * scale)),
            today=args.today,
        )
        c = result["counts"]
        print(
            f"firm {result['slug']} (tenant {result['tenant_id']}): {c['cases']:,} cases, "
            f"{c['service_lines']:,} lines, {c['payments']:,} payments, "
            f"{c['communications']:,} communications, {c['case_events']:,} events, "
            f"{c['case_deadlines']:,} deadlines, {c['documents']:,} documents; "
            f"loaded in {result['load_seconds']:.1f} s, "
            f"with VACUUM ANALYZE {result['total_seconds']:.1f} s"
        )


if __name__ == "__main__":
    main()
