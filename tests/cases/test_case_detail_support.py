"""Shared set-up for the case page tests (no tests here): a firm with a
practice, a payer and an advocate, and builders for cases and form posts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from html import unescape

from sqlalchemy import event, func, select

from advocate.cases import services
from advocate.cases.models import Case
from advocate.db import utcnow
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import Person, login, make_firm, make_payer, make_practice, make_user

# Yesterday in UTC: a date of service that is never "in the future" in any firm's zone.
PAST = utcnow().date() - timedelta(days=2)


@dataclass
class Shop:
    firm: object
    tenant_id: int
    practice_id: int
    payer_id: int
    advocate: Person


def make_shop(name: str = "Casework Firm") -> Shop:
    firm = make_firm(name)
    practice_id = make_practice(firm.tenant, name="Harbor Surgical Group")
    payer_id = make_payer(firm.tenant, name="Keystone Health Plan")
    advocate = make_user(firm.tenant, "advocate", name="Avery Advocate")
    return Shop(firm, firm.tenant.id, practice_id, payer_id, advocate)


def case_input(shop: Shop, **overrides) -> dict:
    data = {
        "practice_id": shop.practice_id,
        "payer_id": shop.payer_id,
        "plan_type": "erisa_self_funded",
        "patient_first_name": "Jane",
        "patient_last_name": "Doe",
        "patient_dob": "1980-04-02",
        "member_id": "W123456789",
        "payer_claim_number": "CLM-0001",
        "patient_control_number": "PCN-0001",
        "service_from": (PAST - timedelta(days=30)).isoformat(),
        "place_of_service": "22",
        "lines": [
            {
                "code": "27447",
                "modifiers": ["RT"],
                "units": "1",
                "billed": "12000.00",
                "allowed": "3000.00",
                "paid": "2400.00",
                "patient_resp": "600.00",
                "adjustments": [{"group": "CO", "reason": "45", "amount": "9000.00"}],
                "remark_codes": ["N381"],
            },
            {
                "code": "99223",
                "units": "1",
                "billed": "800.00",
                "allowed": "200.00",
                "paid": "160.00",
                "patient_resp": "40.00",
            },
        ],
    }
    data.update(overrides)
    return data


def make_case(shop: Shop, *, status: str | None = None, **overrides) -> int:
    """A case through the intake service (and straight to `status` if given)."""
    with tenant_scope(shop.tenant_id):
        case = services.create_case(
            tenant_id=shop.tenant_id,
            actor_id=shop.advocate.user.id,
            data=case_input(shop, **overrides),
            today=utcnow().date(),
        )
        if status:
            case.status = status
        db.session.flush()
        case_id = case.id
        db.session.commit()
    return case_id


def load(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def count(model, tenant_id: int, *where) -> int:
    with tenant_scope(tenant_id):
        db.session.expire_all()
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _fresh_code(person: Person) -> str:
    """A TOTP code for the current step (or the next, if this one is used):
    the server also accepts the step before, so a step boundary passing
    between making the code and checking it does no harm."""
    import pyotp

    from advocate.auth.models import User

    db.session.expire_all()
    from tenants import user_scope

    with user_scope(person.user.id):  # RLS on users: an account is visible to itself
        last = db.session.get(User, person.user.id).totp_last_step
    totp = pyotp.TOTP(person.totp_secret)
    now_step = int(utcnow().timestamp()) // totp.interval
    step = now_step if last is None or now_step > last else now_step + 1
    return totp.generate_otp(step)


def logged_in(browser, person: Person):
    """Log in as `person` (password, then two-factor when enrolled)."""
    if not person.totp_secret:
        login(browser, person)
        return browser
    r = browser.post("/login", {"email": person.user.email, "password": person.password})
    assert r.status_code == 302 and "/login/two-factor" in r.headers["Location"], r.status_code
    r = browser.post("/login/two-factor", {"code": _fresh_code(person)})
    assert r.status_code == 302 and "/login" not in r.headers["Location"], r.get_data(as_text=True)[
        :300
    ]
    return browser


def intake_form(shop: Shop, rows: list[dict] | None = None, **overrides) -> dict:
    """The /cases/new form as a browser posts it (six line rows, most blank)."""
    data = {
        "practice_id": str(shop.practice_id),
        "payer_id": str(shop.payer_id),
        "plan_type": "erisa_self_funded",
        "service_type": "other",
        "patient_first_name": "Jane",
        "patient_last_name": "Doe",
        "patient_dob": "1980-04-02",
        "member_id": "W123456789",
        "rendering_npi": "",
        "payer_claim_number": "CLM-0001",
        "patient_control_number": "PCN-0001",
        "service_from": (PAST - timedelta(days=30)).isoformat(),
        "service_to": "",
        "place_of_service": "22",
        "initial_payment_received_on": (PAST - timedelta(days=5)).isoformat(),
        "assignee_id": str(shop.advocate.user.id),
        "save": "1",
    }
    rows = (
        rows
        if rows is not None
        else [
            {
                "code": "27447",
                "modifiers": "RT",
                "units": "1",
                "billed": "12000.00",
                "allowed": "3000.00",
                "paid": "2400.00",
                "patient_resp": "600.00",
                "adjustments": "CO-45 9000.00",
                "remark_codes": "N381",
            },
            {
                "code": "99223",
                "billed": "800.00",
                "allowed": "200.00",
                "paid": "160.00",
                "patient_resp": "40.00",
            },
        ]
    )
    for i in range(max(6, len(rows))):
        row = rows[i] if i < len(rows) else {}
        for f in (
            "code",
            "modifiers",
            "units",
            "billed",
            "allowed",
            "paid",
            "patient_resp",
            "adjustments",
            "remark_codes",
        ):
            data[f"lines-{i}-{f}"] = row.get(f, "")
    data.update(overrides)
    return data


def text_of(response) -> str:
    """The page's text with tags and whitespace runs collapsed."""
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


class QueryCounter:
    """Counts the statements sent to the database while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _on(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._on)

    @property
    def count(self) -> int:
        return len(self.statements)


def days_ago(n: int) -> str:
    return (PAST - timedelta(days=n)).isoformat()
