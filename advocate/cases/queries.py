"""The caseload's query language: parse filter parameters (from a page's
query string or the API's) into a `CaseFilter`, and turn it into one indexed
SELECT, a join-free COUNT and a page of cases.

Parameters (all optional; repeat `status`, `payer_id`, `practice_id` for several):
  status        a status key, or `open` / `closed`
  payer_id, practice_id
  assignee_id   a user id, `me` or `none`
  opened_from, opened_to, service_from, service_to   dates, YYYY-MM-DD, inclusive
  amount_min, amount_max   amount at stake, inclusive
  overdue       1: an open case whose next deadline has passed; 0: not overdue
  nsa           1: NSA eligible; 0: not eligible or not yet known; unknown: not yet known
  q             case number (C-000123 or 123), payer claim number or patient control
                number, exact. Never a patient name: that would be a PHI search.
  sort          opened, number, service, at_stake, deadline, status, payer, practice
  dir           asc or desc
  page, per_page (at most 200)

Every condition is on a column of `cases`, so the count never joins; all but
NSA and the service dates have a tenant-first index. A page picks its ids in a
narrow subquery first and joins only those rows to their practice, payer and
assignee (`page_statement`), so deep pages and name sorts stay cheap. Measured
on 100,000 cases: bench/RESULTS-caseload.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g, has_request_context
from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import contains_eager

from advocate.cases import workflow
from advocate.cases.models import Case
from advocate.extensions import db

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50
PER_PAGE_CHOICES = (25, 50, 100, 200)
MAX_Q = 60

# The parameters a filter is made of (what a saved filter keeps, what links carry).
FILTER_PARAMS = (
    "q",
    "status",
    "payer_id",
    "practice_id",
    "assignee_id",
    "opened_from",
    "opened_to",
    "service_from",
    "service_to",
    "amount_min",
    "amount_max",
    "overdue",
    "nsa",
)
VIEW_PARAMS = ("sort", "dir", "per_page")
STATUS_GROUPS = {"open": workflow.OPEN, "closed": workflow.CLOSED}

# Workflow order, so "status" sorts intake first and closed last.
_STATUS_RANK = {s: i for i, s in enumerate(workflow.STATES)}

SORTS: dict[str, str] = {
    "opened": "Opened",
    "number": "Case number",
    "service": "Date of service",
    "at_stake": "Amount at stake",
    "deadline": "Next deadline",
    "status": "Status",
    "payer": "Payer",
    "practice": "Practice",
}
# The direction a sort starts in when none is given.
DEFAULT_DIR = {"opened": "desc", "at_stake": "desc"}
DEFAULT_SORT = "opened"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_CASE_NUMBER = re.compile(r"^[Cc]-?(\d{1,9})$")


class FilterError(str):
    """One bad parameter. It is the text "amount_min: 'abc' is not an amount",
    with `.field` ("amount_min") and `.message` ("'abc' is not an amount")."""

    field: str
    message: str

    def __new__(cls, field: str, message: str) -> FilterError:
        self = super().__new__(cls, f"{field}: {message}")
        self.field = field
        self.message = message
        return self


@dataclass(frozen=True)
class CaseFilter:
    statuses: tuple[str, ...] = ()
    payer_ids: tuple[int, ...] = ()
    practice_ids: tuple[int, ...] = ()
    assignee_id: int | None = None
    unassigned: bool = False
    opened_from: date | None = None
    opened_to: date | None = None
    service_from: date | None = None
    service_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    overdue: bool | None = None
    nsa: str | None = None  # "yes", "no" (false or unknown), "unknown"
    q: str | None = None
    sort: str = DEFAULT_SORT
    direction: str = "desc"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    today: date = field(default_factory=date.today)  # the firm's today: "overdue" is relative to it
    tz: str = "UTC"  # the firm's time zone: opened_from/opened_to are its calendar days

    @property
    def is_filtered(self) -> bool:
        return any(
            v not in (None, (), False)
            for v in (
                self.statuses,
                self.payer_ids,
                self.practice_ids,
                self.assignee_id,
                self.unassigned,
                self.opened_from,
                self.opened_to,
                self.service_from,
                self.service_to,
                self.amount_min,
                self.amount_max,
                self.overdue,
                self.nsa,
                self.q,
            )
        )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


# --------------------------------------------------------------------------- parsing


def _getlist(args: Mapping, key: str) -> list[str]:
    if hasattr(args, "getlist"):
        values = args.getlist(key)
    else:
        raw = args.get(key)
        values = [] if raw is None else (list(raw) if isinstance(raw, list | tuple) else [raw])
    return [str(v).strip() for v in values if v is not None and str(v).strip() != ""]


def _one(args: Mapping, key: str) -> str | None:
    values = _getlist(args, key)
    return values[-1] if values else None


def _show(value: str) -> str:
    return value if len(value) <= 40 else value[:40] + "…"


def _ids(args: Mapping, key: str, errors: list[FilterError]) -> tuple[int, ...]:
    out = []
    for v in _getlist(args, key):
        if (v.isascii() and v.isdigit()) and len(v) <= 18:
            out.append(int(v))
        else:
            errors.append(FilterError(key, f"'{_show(v)}' is not an id"))
    return tuple(dict.fromkeys(out))


def _date(args: Mapping, key: str, errors: list[FilterError]) -> date | None:
    v = _one(args, key)
    if v is None:
        return None
    try:
        return date.fromisoformat(v)
    except ValueError:
        errors.append(FilterError(key, f"'{_show(v)}' is not a date (YYYY-MM-DD)"))
        return None


class _ErrorSink:
    """Adapts services.money's error collector to FilterError."""

    def __init__(self, errors: list[FilterError]):
        self.errors = errors

    def add(self, name: str, message: str) -> None:
        self.errors.append(FilterError(name, message))


def _amount(args: Mapping, key: str, errors: list[FilterError]) -> Decimal | None:
    from advocate.cases.services import money

    v = _one(args, key)
    if v is None:
        return None
    return money(_show(v), key, _ErrorSink(errors), required=False)


def _flag(args: Mapping, key: str, errors: list[FilterError]) -> bool | None:
    v = _one(args, key)
    if v is None:
        return None
    if v.lower() in _TRUE:
        return True
    if v.lower() in _FALSE:
        return False
    errors.append(FilterError(key, f"'{_show(v)}' is not 1 or 0"))
    return None


def _int(args: Mapping, key: str, default: int, lo: int, hi: int, errors: list[FilterError]) -> int:
    v = _one(args, key)
    if v is None:
        return default
    if not (v.isascii() and v.isdigit()) or len(v) > 9:
        errors.append(FilterError(key, f"'{_show(v)}' is not a whole number"))
        return default
    n = int(v)
    if not lo <= n <= hi:
        errors.append(FilterError(key, f"must be {lo} to {hi}"))
        return default
    return n


def tenant_tz(tenant) -> str:
    name = getattr(tenant, "timezone", None) or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def parse_case_filter(
    args: Mapping[str, Any],
    *,
    user_id: int | None = None,
    tenant=None,
    today: date | None = None,
    per_page: int = DEFAULT_PER_PAGE,
) -> tuple[CaseFilter, list[FilterError]]:
    """Read filter parameters (a request's `args` MultiDict, or a dict whose
    values may be lists). Returns the filter and every problem found, each
    naming its parameter; a bad parameter is left out of the filter, so the
    caller decides whether to show results (the pages show none).

    `user_id` resolves `assignee_id=me`; `tenant` gives the firm's time zone
    (its calendar day for dates and "overdue")."""
    errors: list[FilterError] = []
    if has_request_context():
        # A view's own caller and firm, unless told otherwise.
        if user_id is None:
            user_id = getattr(g.get("actor"), "id", None)
        if tenant is None:
            tenant = g.get("tenant")
    tz = tenant_tz(tenant)
    today = today or datetime.now(ZoneInfo(tz)).date()

    statuses: list[str] = []
    for v in _getlist(args, "status"):
        key = v.lower()
        if key in STATUS_GROUPS:
            statuses.extend(sorted(STATUS_GROUPS[key], key=_STATUS_RANK.get))
        elif key in workflow.STATES:
            statuses.append(key)
        else:
            errors.append(FilterError("status", f"'{_show(v)}' is not a case status"))

    assignee_id, unassigned = None, False
    a = _one(args, "assignee_id")
    if a is not None:
        if a.lower() == "me":
            if user_id is None:
                errors.append(FilterError("assignee_id", "'me' needs a signed-in user"))
            else:
                assignee_id = user_id
        elif a.lower() == "none":
            unassigned = True
        elif (a.isascii() and a.isdigit()) and len(a) <= 18:
            assignee_id = int(a)
        else:
            errors.append(
                FilterError("assignee_id", f"'{_show(a)}' is not a user id, 'me' or 'none'")
            )

    dates = {
        k: _date(args, k, errors)
        for k in ("opened_from", "opened_to", "service_from", "service_to")
    }
    for lo, hi in (("opened_from", "opened_to"), ("service_from", "service_to")):
        if dates[lo] and dates[hi] and dates[hi] < dates[lo]:
            errors.append(FilterError(hi, f"is before {lo}"))

    amount_min = _amount(args, "amount_min", errors)
    amount_max = _amount(args, "amount_max", errors)
    if amount_min is not None and amount_max is not None and amount_max < amount_min:
        errors.append(FilterError("amount_max", "is less than amount_min"))

    nsa = None
    n = _one(args, "nsa")
    if n is not None:
        nsa = {
            "1": "yes",
            "true": "yes",
            "yes": "yes",
            "0": "no",
            "false": "no",
            "no": "no",
            "unknown": "unknown",
        }.get(n.lower())
        if nsa is None:
            errors.append(FilterError("nsa", f"'{_show(n)}' is not 1, 0 or unknown"))

    q = _one(args, "q")
    if q is not None and len(q) > MAX_Q:
        errors.append(FilterError("q", f"is longer than {MAX_Q} characters"))
        q = None

    sort = (_one(args, "sort") or DEFAULT_SORT).lower()
    if sort not in SORTS:
        errors.append(FilterError("sort", f"'{_show(sort)}' is not one of {', '.join(SORTS)}"))
        sort = DEFAULT_SORT
    direction = (_one(args, "dir") or DEFAULT_DIR.get(sort, "asc")).lower()
    if direction not in ("asc", "desc"):
        errors.append(FilterError("dir", f"'{_show(direction)}' is not asc or desc"))
        direction = DEFAULT_DIR.get(sort, "asc")

    f = CaseFilter(
        statuses=tuple(dict.fromkeys(statuses)),
        payer_ids=_ids(args, "payer_id", errors),
        practice_ids=_ids(args, "practice_id", errors),
        assignee_id=assignee_id,
        unassigned=unassigned,
        amount_min=amount_min,
        amount_max=amount_max,
        overdue=_flag(args, "overdue", errors),
        nsa=nsa,
        q=q,
        sort=sort,
        direction=direction,
        page=_int(args, "page", 1, 1, 10_000_000, errors),
        per_page=_int(args, "per_page", per_page, 1, MAX_PER_PAGE, errors),
        today=today,
        tz=tz,
        **dates,
    )
    return f, errors


def filter_query_string(args: Mapping[str, Any], *, keep_view: bool = True) -> str:
    """The filter's own parameters from `args`, re-encoded in a fixed order
    (what a saved filter stores; unknown keys, page and tokens are dropped)."""
    keys = FILTER_PARAMS + (VIEW_PARAMS if keep_view else ())
    pairs = [(k, v) for k in keys for v in _getlist(args, k)]
    return urlencode(pairs)


# --------------------------------------------------------------------------- SQL


def _day_start(d: date, tz: str) -> datetime:
    """Midnight at the start of `d` in the firm's zone, as UTC."""
    return datetime.combine(d, time.min, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def open_statuses() -> tuple[str, ...]:
    return tuple(sorted(workflow.OPEN, key=_STATUS_RANK.get))


def case_conditions(f: CaseFilter) -> list:
    """WHERE terms on `cases` columns only (the count runs without joins)."""
    c = Case
    terms: list = []
    if f.statuses:
        terms.append(c.status.in_(f.statuses))
    if f.payer_ids:
        terms.append(c.payer_id.in_(f.payer_ids))
    if f.practice_ids:
        terms.append(c.practice_id.in_(f.practice_ids))
    if f.unassigned:
        terms.append(c.assignee_id.is_(None))
    elif f.assignee_id is not None:
        terms.append(c.assignee_id == f.assignee_id)
    if f.opened_from:
        terms.append(c.opened_at >= _day_start(f.opened_from, f.tz))
    if f.opened_to:
        terms.append(c.opened_at < _day_start(f.opened_to + timedelta(days=1), f.tz))
    # A case's dates of service overlap the asked range.
    if f.service_from:
        terms.append(c.service_to >= f.service_from)
    if f.service_to:
        terms.append(c.service_from <= f.service_to)
    if f.amount_min is not None:
        terms.append(c.amount_at_stake >= f.amount_min)
    if f.amount_max is not None:
        terms.append(c.amount_at_stake <= f.amount_max)
    if f.overdue is True:
        terms.append(overdue_condition(f.today))
    elif f.overdue is False:
        terms.append(~overdue_condition(f.today))
    if f.nsa == "yes":
        terms.append(c.is_nsa_eligible.is_(True))
    elif f.nsa == "no":
        terms.append(or_(c.is_nsa_eligible.is_(False), c.is_nsa_eligible.is_(None)))
    elif f.nsa == "unknown":
        terms.append(c.is_nsa_eligible.is_(None))
    if f.q:
        terms.append(_search(f.q))
    return terms


def overdue_condition(today: date):
    """An open case whose next deadline is before today. The NULL case is
    spelled out so that NOT(...) keeps cases with no deadline."""
    return and_(
        Case.next_deadline_on.is_not(None),
        Case.next_deadline_on < today,
        Case.status.in_(open_statuses()),
    )


def _search(q: str):
    q = q.strip()
    options = [Case.payer_claim_number == q, Case.patient_control_number == q]
    if q.upper() != q:
        options += [Case.payer_claim_number == q.upper(), Case.patient_control_number == q.upper()]
    m = _CASE_NUMBER.match(q)
    if m:
        options.append(Case.number == int(m.group(1)))
    elif (q.isascii() and q.isdigit()) and len(q) <= 9:
        options.append(Case.number == int(q))
    return or_(*options)


def status_rank():
    return case(_STATUS_RANK, value=Case.status, else_=len(_STATUS_RANK))


def _order_by(f: CaseFilter) -> list:
    from advocate.payers.models import Payer
    from advocate.practices.models import Practice

    desc = f.direction == "desc"

    def d(col):
        return col.desc() if desc else col.asc()

    key = {
        "opened": [d(Case.opened_at)],
        "number": [d(Case.number)],
        "service": [d(Case.service_from)],
        "at_stake": [d(Case.amount_at_stake)],
        # Cases with no deadline last, whichever way.
        "deadline": [d(Case.next_deadline_on).nulls_last()],
        "status": [d(status_rank())],
        "payer": [d(Payer.name)],
        "practice": [d(Practice.name)],
    }[f.sort]
    return [*key, d(Case.id)]  # a stable tiebreak: pages never repeat or skip a case


def filtered_cases(f: CaseFilter) -> Select:
    """SELECT the cases matching `f` in its order, practice, payer and
    assignee loaded in the same query. No LIMIT: callers page it."""
    stmt = select(Case).where(*case_conditions(f))
    # Sorting by a name joins that table once and fills the relationship from it.
    if f.sort == "payer":
        stmt = stmt.join(Case.payer).options(contains_eager(Case.payer))
    elif f.sort == "practice":
        stmt = stmt.join(Case.practice).options(contains_eager(Case.practice))
    return stmt.order_by(*_order_by(f))


def page_ids(f: CaseFilter) -> Select:
    """The ids of one page of `f`, in order: narrow rows, so a deep offset
    walks an index and a sort by name sorts ids, not joined rows."""
    from advocate.payers.models import Payer
    from advocate.practices.models import Practice

    stmt = select(Case.id).where(*case_conditions(f))
    if f.sort == "payer":
        stmt = stmt.join(Payer, Payer.id == Case.payer_id)
    elif f.sort == "practice":
        stmt = stmt.join(Practice, Practice.id == Case.practice_id)
    return stmt.order_by(*_order_by(f)).limit(f.per_page).offset(f.offset)


def page_statement(f: CaseFilter) -> Select:
    """One page of `f` as one SELECT: the page's ids first (page_ids), then
    only those cases with their practice, payer and assignee joined."""
    ids = page_ids(f).subquery()
    stmt = select(Case).where(Case.id.in_(select(ids.c.id)))
    if f.sort == "payer":
        stmt = stmt.join(Case.payer).options(contains_eager(Case.payer))
    elif f.sort == "practice":
        stmt = stmt.join(Case.practice).options(contains_eager(Case.practice))
    return stmt.order_by(*_order_by(f))


# Counts up to this many are always exact and fresh; a larger one is exact but
# may be up to CASE_COUNT_CACHE_SECONDS old (kept in Redis per firm and filter).
EXACT_COUNT_LIMIT = 1_000


def count_cases(f: CaseFilter) -> int:
    """How many cases match `f` (no joins, no ordering).

    Counting costs time in proportion to the rows counted (~12 ms per 100,000
    even from an index alone, ~25 ms per 10,000 when the filter needs the rows
    themselves), on every page of every list.  So rows are first
    counted up to EXACT_COUNT_LIMIT + 1: at or below the limit that is the
    answer, exact and fresh.  Above it, the full count is taken once and kept
    for CASE_COUNT_CACHE_SECONDS in Redis under the firm and the filter (not
    the page or the sort): "1–50 of 100,000" may lag by a few cases for that
    long, a list of fewer than EXACT_COUNT_LIMIT never does.  No Redis: always
    counted."""
    conditions = case_conditions(f)
    matching = select(literal(1)).select_from(Case).where(*conditions)
    capped = db.session.scalar(
        select(func.count()).select_from(matching.limit(EXACT_COUNT_LIMIT + 1).subquery())
    )
    if capped <= EXACT_COUNT_LIMIT:
        return capped
    from advocate.reports.cache import cached

    def full() -> int:
        return db.session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0

    key = replace(f, page=1, per_page=0, sort="", direction="")
    return cached("case_count", (key,), full, setting="CASE_COUNT_CACHE_SECONDS")


@dataclass
class CasePage:
    """One page of cases: what `macros/pagination.html` reads."""

    items: list[Case]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(
        self, left_edge: int = 2, left_current: int = 2, right_current: int = 4, right_edge: int = 2
    ) -> Iterator[int | None]:
        pages = self.pages
        if not pages:
            return
        left_end = min(1 + left_edge, pages + 1)
        yield from range(1, left_end)
        if left_end == pages + 1:
            return
        mid_start = max(left_end, self.page - left_current)
        mid_end = min(self.page + right_current + 1, pages + 1)
        if mid_start - left_end > 0:
            yield None
        yield from range(mid_start, mid_end)
        if mid_end == pages + 1:
            return
        right_start = max(mid_end, pages - right_edge + 1)
        if right_start - mid_end > 0:
            yield None
        yield from range(right_start, pages + 1)


def page_of_cases(f: CaseFilter) -> CasePage:
    """Two queries whatever the page size: the page's rows (with their
    practice, payer and assignee) and the count."""
    items = list(db.session.scalars(page_statement(f)))
    if f.page == 1 and len(items) < f.per_page:
        total = len(items)  # the whole result fits on the first page: no count needed
    else:
        total = count_cases(f)
    return CasePage(items=items, total=total, page=f.page, per_page=f.per_page)


def with_changes(f: CaseFilter, **changes) -> CaseFilter:
    return replace(f, **changes)


EXPORT_COLUMNS = (
    "case",
    "patient_last_name",
    "patient_first_name",
    "practice",
    "payer",
    "plan_type",
    "payer_claim_number",
    "patient_control_number",
    "service_from",
    "service_to",
    "status",
    "assignee",
    "opened_on",
    "billed_total",
    "allowed_total",
    "total_paid",
    "amount_at_stake",
    "next_deadline_on",
    "next_follow_up_on",
    "nsa_eligible",
)


def export_rows(f: CaseFilter) -> Select:
    """The same cases in the same order as `filtered_cases`, as plain rows
    (no ORM objects: an export streams tens of thousands of them)."""
    from advocate.auth.models import User
    from advocate.payers.models import Payer
    from advocate.practices.models import Practice

    return (
        select(
            Case.id,
            Case.number,
            Case.patient_last_name,
            Case.patient_first_name,
            Practice.name.label("practice"),
            Payer.name.label("payer"),
            Case.plan_type,
            Case.payer_claim_number,
            Case.patient_control_number,
            Case.service_from,
            Case.service_to,
            Case.status,
            Case.appeal_level,
            User.name.label("assignee"),
            Case.opened_at,
            Case.billed_total,
            Case.allowed_total,
            Case.total_paid,
            Case.amount_at_stake,
            Case.next_deadline_on,
            Case.next_follow_up_on,
            Case.is_nsa_eligible,
        )
        .select_from(Case)
        .join(Practice, Practice.id == Case.practice_id)
        .join(Payer, Payer.id == Case.payer_id)
        .outerjoin(User, User.id == Case.assignee_id)
        .where(*case_conditions(f))
        .order_by(*_order_by(f))
    )
