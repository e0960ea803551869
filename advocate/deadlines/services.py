"""Deadline services: the firm's business calendar (federal holidays plus its
closure days), its closure days and its list of specified state laws, and the
NSA timeline and eligibility checks built on them.

Services take an explicit ``tenant_id`` and ``actor``, flush but never commit.
The tenant in scope must be the one asked for: the ORM's tenant filter would
otherwise silently return another scope's (or no) closures, and a calendar
missing a closure gives a confident, wrong deadline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from advocate.audit.services import audit
from advocate.deadlines.calendar import BusinessCalendar, federal_holidays
from advocate.deadlines.eligibility import Eligibility, ServiceType, check_nsa_eligibility
from advocate.deadlines.models import ClosureDay, SpecifiedStateLaw
from advocate.deadlines.nsa import NsaTimeline, nsa_timeline
from advocate.extensions import db
from tenants import TenantScopeError, current_tenant_id

__all__ = [
    "EXTRA_CLOSURE_REASON",
    "MAX_EXTRA_CLOSURES",
    "MAX_YEAR",
    "MIN_YEAR",
    "TIMELINE_INPUTS",
    "DeadlineError",
    "add_closure",
    "add_state_law",
    "calendar_for",
    "check_eligibility",
    "nsa_timeline_for",
    "order_error",
    "parse_date",
    "parse_dates",
    "remove_closure",
    "remove_state_law",
    "state_laws_for",
    "timeline_warnings",
    "with_extra_closures",
]

MIN_YEAR, MAX_YEAR = 2000, 2100
"""Dates outside these years are typing errors (the NSA took effect in 2022)."""

MAX_EXTRA_CLOSURES = 100
EXTRA_CLOSURE_REASON = "Closure given for this calculation"

TIMELINE_INPUTS: tuple[tuple[str, str], ...] = (
    ("received", "initial payment or denial received"),
    ("notice_sent", "open negotiation notice sent"),
    ("initiated", "IDR initiated"),
    ("selected", "IDR entity selected"),
    ("determined", "payment determination made"),
)
"""The timeline's input dates, in the order the steps happen, with what each means."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CACHE_KEY = "deadlines.calendars"


class DeadlineError(ValueError):
    """A validation error naming the field it belongs to."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# --- Parsing (shared by the calculator page and the API) --------------------


def parse_date(raw: str, field: str) -> date:
    """A strict YYYY-MM-DD date (``date.fromisoformat`` alone also takes 20241224)."""
    value = raw.strip()
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError
        d = date.fromisoformat(value)
    except ValueError:
        raise DeadlineError(field, f"'{value}' is not a date: use YYYY-MM-DD") from None
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise DeadlineError(field, f"{value} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return d


def parse_dates(raw: str, field: str, limit: int = MAX_EXTRA_CLOSURES) -> list[date]:
    """Dates separated by commas, spaces or new lines; every bad one is named."""
    items = [item for item in re.split(r"[\s,;]+", raw or "") if item]
    if len(items) > limit:
        raise DeadlineError(field, f"at most {limit} dates, got {len(items)}")
    bad, found = [], []
    for item in items:
        try:
            found.append(parse_date(item, field))
        except DeadlineError as err:
            bad.append(err.message)
    if bad:
        raise DeadlineError(field, "; ".join(bad))
    return sorted(set(found))


def order_error(values: Mapping[str, date | None]) -> DeadlineError | None:
    """The first input dated before an earlier step's, as an error on that input."""
    previous: tuple[str, str, date] | None = None
    for name, label in TIMELINE_INPUTS:
        value = values.get(name)
        if value is None:
            continue
        if previous is not None and value < previous[2]:
            return DeadlineError(
                name,
                f"{name} ({value.isoformat()}, {label}) is before {previous[0]} "
                f"({previous[2].isoformat()}, {previous[1]}): the steps happen in the order "
                + ", ".join(n for n, _ in TIMELINE_INPUTS),
            )
        previous = (name, label, value)
    return None


def timeline_warnings(timeline: NsaTimeline) -> list[str]:
    """Steps the dates show were taken late (or too early), one sentence each.

    Not errors: the advocate records what happened, and a late step is exactly
    what they need to see (a late notice or initiation can forfeit the dispute).
    """
    t = timeline
    warnings = []
    if t.notice_sent and t.notice_deadline and t.notice_sent > t.notice_deadline:
        warnings.append(
            f"The open negotiation notice was sent on {t.notice_sent.isoformat()}, after its "
            f"deadline of {t.notice_deadline.isoformat()}."
        )
    if t.initiated and t.idr_window_start and t.initiated < t.idr_window_start:
        warnings.append(
            f"IDR was initiated on {t.initiated.isoformat()}, before the initiation window opens "
            f"on {t.idr_window_start.isoformat()} (the 30-business-day open negotiation period "
            "must end first)."
        )
    if t.initiated and t.idr_window_end and t.initiated > t.idr_window_end:
        warnings.append(
            f"IDR was initiated on {t.initiated.isoformat()}, after the initiation window closed "
            f"on {t.idr_window_end.isoformat()}."
        )
    if t.selected and t.idre_selection_due and t.selected > t.idre_selection_due:
        warnings.append(
            f"The IDR entity was selected on {t.selected.isoformat()}, after the selection "
            f"deadline of {t.idre_selection_due.isoformat()}."
        )
    if t.determined and t.determination_due and t.determined > t.determination_due:
        warnings.append(
            f"The determination was made on {t.determined.isoformat()}, after it was due on "
            f"{t.determination_due.isoformat()}."
        )
    return warnings


# --- The firm's calendar ----------------------------------------------------


def _check_scope(tenant_id: int) -> None:
    if current_tenant_id() != tenant_id:
        raise TenantScopeError(
            f"tenant {tenant_id} asked for while tenant {current_tenant_id()} is in scope"
        )


def _cache(session: Session) -> dict[int, BusinessCalendar]:
    return session.info.setdefault(_CACHE_KEY, {})


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_calendars(session: Session, *args) -> None:
    # Another request may have changed the closures since: read them afresh
    # after each transaction (within one request, one read is enough).
    session.info.pop(_CACHE_KEY, None)


def calendar_for(tenant_id: int) -> BusinessCalendar:
    """The firm's business calendar: federal holidays plus its closure days.

    Cached for the current database session (one request), and forgotten when
    the firm's closures change or the transaction ends.
    """
    _check_scope(tenant_id)
    cache = _cache(db.session())
    if tenant_id not in cache:
        rows = db.session.execute(
            select(ClosureDay.day, ClosureDay.reason).where(ClosureDay.tenant_id == tenant_id)
        ).all()
        cache[tenant_id] = BusinessCalendar({day: reason for day, reason in rows})
    return cache[tenant_id]


def with_extra_closures(
    calendar: BusinessCalendar, extra: Iterable[date], reason: str = EXTRA_CLOSURE_REASON
) -> BusinessCalendar:
    """``calendar`` plus more closure days (a closure already there keeps its reason)."""
    closures = dict.fromkeys(extra, reason)
    closures.update(calendar.closures)
    return BusinessCalendar(closures)


def nsa_timeline_for(
    tenant_id: int,
    received: date,
    notice_sent: date | None = None,
    initiated: date | None = None,
    selected: date | None = None,
    determined: date | None = None,
    *,
    extra_closures: Iterable[date] = (),
    use_firm_closures: bool = True,
) -> NsaTimeline:
    """The NSA timeline on the firm's calendar (plus ``extra_closures``).

    Raises :class:`DeadlineError` naming the input that is out of order.
    """
    values = {
        "received": received,
        "notice_sent": notice_sent,
        "initiated": initiated,
        "selected": selected,
        "determined": determined,
    }
    err = order_error(values)
    if err is not None:
        raise err
    calendar = calendar_for(tenant_id) if use_firm_closures else BusinessCalendar()
    extra = list(extra_closures)
    if extra:
        calendar = with_extra_closures(calendar, extra)
    return nsa_timeline(calendar, **values)  # type: ignore[arg-type]


# --- Closure days -----------------------------------------------------------


def _forget(tenant_id: int) -> None:
    _cache(db.session()).pop(tenant_id, None)


def _flush_unique(field: str, message: str) -> None:
    # The look-up before the insert gives the friendly error; the unique key
    # is the backstop when two people add the same row at once (the caller
    # rolls back on DeadlineError, as on any validation error).
    try:
        db.session.flush()
    except IntegrityError:
        raise DeadlineError(field, message) from None


def add_closure(tenant_id: int, actor, day: date, reason: str) -> ClosureDay:
    """Add a closure day for the firm; refuses duplicates, weekends and holidays."""
    _check_scope(tenant_id)
    reason = (reason or "").strip()
    if not reason:
        raise DeadlineError("reason", "Give the reason for the closure.")
    if len(reason) > 200:
        raise DeadlineError("reason", "At most 200 characters.")
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise DeadlineError("day", f"Choose a date between {MIN_YEAR} and {MAX_YEAR}.")
    if day.weekday() >= 5:
        raise DeadlineError(
            "day", f"{day.isoformat()} is a {day:%A}: weekends are never business days."
        )
    holiday = federal_holidays(day.year).get(day)
    if holiday:
        raise DeadlineError("day", f"{day.isoformat()} is already a federal holiday ({holiday}).")
    existing = db.session.scalar(
        select(ClosureDay).where(ClosureDay.tenant_id == tenant_id, ClosureDay.day == day)
    )
    duplicate = f"{day.isoformat()} is already a closure day."
    if existing is not None:
        raise DeadlineError("day", duplicate)
    closure = ClosureDay(
        tenant_id=tenant_id, day=day, reason=reason, created_by_id=getattr(actor, "id", None)
    )
    db.session.add(closure)
    _flush_unique("day", duplicate)
    audit(
        "closure_day.created",
        closure,
        details={"day": day.isoformat()},
        tenant_id=tenant_id,
        user_id=getattr(actor, "id", None),
    )
    _forget(tenant_id)
    return closure


def remove_closure(tenant_id: int, actor, closure: ClosureDay) -> None:
    """Remove one of the firm's closure days."""
    _check_scope(tenant_id)
    if closure.tenant_id != tenant_id:
        raise TenantScopeError("closure day of another tenant")
    audit(
        "closure_day.deleted",
        closure,
        details={"day": closure.day.isoformat()},
        tenant_id=tenant_id,
        user_id=getattr(actor, "id", None),
    )
    db.session.delete(closure)
    db.session.flush()
    _forget(tenant_id)


# --- Specified state laws ---------------------------------------------------


def add_state_law(
    tenant_id: int,
    actor,
    state: str,
    citation: str | None = None,
    *,
    is_emergency_covered: bool = True,
    is_facility_covered: bool = True,
    is_air_ambulance_covered: bool = False,
) -> SpecifiedStateLaw:
    """Put a state on the firm's list of states with a specified state law."""
    from advocate.practices.validators import US_STATES

    _check_scope(tenant_id)
    state = (state or "").strip().upper()
    if state not in US_STATES:
        raise DeadlineError("state", "Choose a US state or territory.")
    citation = (citation or "").strip() or None
    if citation is not None and len(citation) > 200:
        raise DeadlineError("citation", "At most 200 characters.")
    if not (is_emergency_covered or is_facility_covered or is_air_ambulance_covered):
        raise DeadlineError(
            "is_emergency_covered", "Tick at least one kind of service the law covers."
        )
    duplicate = f"{US_STATES[state]} is already on the list."
    existing = db.session.scalar(
        select(SpecifiedStateLaw).where(
            SpecifiedStateLaw.tenant_id == tenant_id, SpecifiedStateLaw.state == state
        )
    )
    if existing is not None:
        raise DeadlineError("state", duplicate)
    law = SpecifiedStateLaw(
        tenant_id=tenant_id,
        state=state,
        citation=citation,
        is_emergency_covered=is_emergency_covered,
        is_facility_covered=is_facility_covered,
        is_air_ambulance_covered=is_air_ambulance_covered,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(law)
    _flush_unique("state", duplicate)
    audit(
        "specified_state_law.created",
        law,
        details={"state": state, "services": sorted(s.value for s in law.services)},
        tenant_id=tenant_id,
        user_id=getattr(actor, "id", None),
    )
    return law


def remove_state_law(tenant_id: int, actor, law: SpecifiedStateLaw) -> None:
    """Take a state off the firm's list."""
    _check_scope(tenant_id)
    if law.tenant_id != tenant_id:
        raise TenantScopeError("state law of another tenant")
    audit(
        "specified_state_law.deleted",
        law,
        details={"state": law.state},
        tenant_id=tenant_id,
        user_id=getattr(actor, "id", None),
    )
    db.session.delete(law)
    db.session.flush()


def state_laws_for(tenant_id: int) -> dict[str, frozenset[ServiceType]]:
    """The firm's specified state laws: state code to the services each covers."""
    _check_scope(tenant_id)
    laws = db.session.scalars(
        select(SpecifiedStateLaw).where(SpecifiedStateLaw.tenant_id == tenant_id)
    )
    return {law.state: law.services for law in laws}


def check_eligibility(
    tenant_id: int,
    *,
    service_type: ServiceType | str | None,
    plan_type: str | None,
    state: str | None,
    remark_codes: Iterable[str] | None = None,
) -> Eligibility:
    """NSA eligibility with the firm's list of specified state laws."""
    return check_nsa_eligibility(
        service_type,
        plan_type,
        state=state,
        state_laws=state_laws_for(tenant_id),
        remark_codes=remark_codes,
    )
