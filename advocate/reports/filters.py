"""The filters every report shares: a date range (the firm's calendar days,
inclusive), practices, payers and an advocate. Parsed from a query string into
a `ReportFilter`, with every bad parameter named; turned back into query
strings for exports and into the caseload's own parameters for drill-down
links.

Parameters (all optional; repeat `practice_id` and `payer_id` for several):
  from, to      YYYY-MM-DD; default: the first day of the month eleven months
                ago through today (twelve calendar months)
  practice_id, payer_id
  assignee_id   a user id, `me` or `none` (unassigned cases)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from advocate.cases.queries import FilterError, tenant_tz

MAX_MONTHS = 120  # a range longer than ten years is refused: month charts stay readable


def months_back(today: date, n: int) -> date:
    """The first day of the month `n` months before `today`'s month."""
    y, m = today.year, today.month - n
    while m < 1:
        m += 12
        y -= 1
    return date(y, m, 1)


def month_keys(start: date, end: date) -> list[str]:
    """Every month from `start` to `end` as 'YYYY-MM', in order."""
    keys = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        keys.append(f"{y:04d}-{m:02d}")
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return keys


@dataclass(frozen=True)
class ReportFilter:
    date_from: date
    date_to: date
    practice_ids: tuple[int, ...] = ()
    payer_ids: tuple[int, ...] = ()
    assignee_id: int | None = None
    unassigned: bool = False
    assignee_raw: str | None = None  # what was asked ("me" stays "me" in links)
    today: date = field(default_factory=date.today)
    tz: str = "UTC"
    tenant_id: int | None = None

    @property
    def months(self) -> list[str]:
        return month_keys(self.date_from, self.date_to)

    def day_start(self, d: date) -> datetime:
        """Midnight at the start of `d` in the firm's zone, as UTC."""
        return datetime.combine(d, time.min, tzinfo=ZoneInfo(self.tz)).astimezone(UTC)

    @property
    def ts_from(self) -> datetime:
        return self.day_start(self.date_from)

    @property
    def ts_to(self) -> datetime:
        """Exclusive upper bound: the start of the day after `date_to`."""
        return self.day_start(self.date_to + timedelta(days=1))

    def params(self, *, dates: bool = True) -> list[tuple[str, str]]:
        """This filter as query parameters (for exports and report links)."""
        out: list[tuple[str, str]] = []
        if dates:
            out += [("from", self.date_from.isoformat()), ("to", self.date_to.isoformat())]
        out += [("practice_id", str(i)) for i in self.practice_ids]
        out += [("payer_id", str(i)) for i in self.payer_ids]
        if self.unassigned:
            out.append(("assignee_id", "none"))
        elif self.assignee_id is not None:
            out.append(("assignee_id", self.assignee_raw or str(self.assignee_id)))
        return out

    def query_string(self, **extra) -> str:
        pairs = self.params() + [(k, str(v)) for k, v in extra.items() if v is not None]
        return urlencode(pairs)

    def caseload_params(self, *, opened: bool = False, **extra) -> dict[str, Any]:
        """The caseload list's (cases.index) parameters for the same cases:
        practice, payer, advocate, and the opened dates when asked."""
        p: dict[str, Any] = {}
        if self.practice_ids:
            p["practice_id"] = list(self.practice_ids)
        if self.payer_ids:
            p["payer_id"] = list(self.payer_ids)
        if self.unassigned:
            p["assignee_id"] = "none"
        elif self.assignee_id is not None:
            p["assignee_id"] = self.assignee_raw or self.assignee_id
        if opened:
            p["opened_from"] = self.date_from.isoformat()
            p["opened_to"] = self.date_to.isoformat()
        p.update({k: v for k, v in extra.items() if v is not None})
        return p

    def with_changes(self, **changes) -> ReportFilter:
        return replace(self, **changes)


def _values(args: Mapping, key: str) -> list[str]:
    if hasattr(args, "getlist"):
        raw = args.getlist(key)
    else:
        v = args.get(key)
        raw = [] if v is None else (list(v) if isinstance(v, list | tuple) else [v])
    return [str(v).strip() for v in raw if v is not None and str(v).strip()]


def _show(v: str) -> str:
    return v if len(v) <= 40 else v[:40] + "…"


def _ids(args: Mapping, key: str, errors: list[FilterError]) -> tuple[int, ...]:
    out = []
    for v in _values(args, key):
        if (v.isascii() and v.isdigit()) and len(v) <= 18:
            out.append(int(v))
        else:
            errors.append(FilterError(key, f"'{_show(v)}' is not an id"))
    return tuple(dict.fromkeys(out))


def _date(args: Mapping, key: str, errors: list[FilterError]) -> date | None:
    values = _values(args, key)
    if not values:
        return None
    try:
        return date.fromisoformat(values[-1])
    except ValueError:
        errors.append(FilterError(key, f"'{_show(values[-1])}' is not a date (YYYY-MM-DD)"))
        return None


def parse_report_filter(
    args: Mapping[str, Any],
    *,
    tenant,
    user_id: int | None = None,
    today: date | None = None,
) -> tuple[ReportFilter, list[FilterError]]:
    """Read the report parameters. Returns the filter and every problem found,
    each naming its parameter (a bad parameter falls back to its default)."""
    errors: list[FilterError] = []
    tz = tenant_tz(tenant)
    today = today or datetime.now(ZoneInfo(tz)).date()
    default_from = months_back(today, 11)
    d_from = _date(args, "from", errors)
    d_to = _date(args, "to", errors)
    if d_from and d_to and d_to < d_from:
        errors.append(FilterError("to", "is before from"))
        d_from = d_to = None
    d_to = d_to or (today if (d_from is None or d_from <= today) else d_from)
    d_from = d_from or min(default_from, d_to)
    if len(month_keys(d_from, d_to)) > MAX_MONTHS:
        errors.append(FilterError("from", f"the range may span at most {MAX_MONTHS} months"))
        d_from, d_to = default_from, today

    assignee_id, unassigned, raw = None, False, None
    a = _values(args, "assignee_id")
    if a:
        raw = a[-1]
        if raw.lower() == "me" and user_id is not None:
            assignee_id = user_id
        elif raw.lower() == "none":
            unassigned = True
        elif (raw.isascii() and raw.isdigit()) and len(raw) <= 18:
            assignee_id = int(raw)
        else:
            errors.append(
                FilterError("assignee_id", f"'{_show(raw)}' is not a user id, 'me' or 'none'")
            )
            raw = None

    f = ReportFilter(
        date_from=d_from,
        date_to=d_to,
        practice_ids=_ids(args, "practice_id", errors),
        payer_ids=_ids(args, "payer_id", errors),
        assignee_id=assignee_id,
        unassigned=unassigned,
        assignee_raw=raw,
        today=today,
        tz=tz,
        tenant_id=getattr(tenant, "id", None),
    )
    return f, errors
