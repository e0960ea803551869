"""Builders for test data. Each firm is built explicitly: there is no default
firm to leak into a test by accident."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import pyotp

from advocate.auth import twofactor
from advocate.auth.models import User
from advocate.auth.passwords import hash_password
from advocate.db import utcnow
from advocate.extensions import db
from tenants import set_db_user, tenant_scope, user_scope
from tenants.models import Membership, Tenant
from tenants.scoping import lookup_email

PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 - test fixture
_seq = itertools.count(1)


@dataclass
class Person:
    """A user and their membership, by id: on PostgreSQL, RLS hides membership
    rows from a test session with no tenant in scope, so tests keep ids."""

    user: User
    membership_id: int
    tenant_id: int
    role: str
    totp_secret: str | None
    password: str = PASSWORD


@dataclass
class Firm:
    tenant: Tenant
    owner: Person
    people: dict[str, Person] = field(default_factory=dict)


@functools.cache
def _password_hash() -> str:
    # One real argon2id hash of the shared test password, computed once: hashing
    # is deliberately slow, and every factory user shares the password.
    return hash_password(PASSWORD)


def make_user(
    tenant: Tenant,
    role: str,
    *,
    name: str | None = None,
    email: str | None = None,
    with_totp: bool = True,
    practice_id: int | None = None,
    verified: bool = True,
) -> Person:
    n = next(_seq)
    email = email or f"{role}{n}@{tenant.slug}.example.com"
    user = User(
        email=email,
        name=name or f"{role.title()} {n}",
        password_hash=_password_hash(),
        password_changed_at=utcnow(),
        email_verified_at=utcnow() if verified else None,
    )
    secret = None
    with tenant_scope(tenant.id), lookup_email(email):  # RLS: a new account under its address
        db.session.add(user)
        db.session.flush()
        if with_totp:
            secret = pyotp.random_base32()
            user.totp_secret_enc = twofactor.encrypt_secret(secret)
            user.is_totp_enabled = True
        set_db_user(user.id)
        m = Membership(tenant_id=tenant.id, user_id=user.id, role=role, practice_id=practice_id)
        db.session.add(m)
        db.session.flush()
        person = Person(
            user=user, membership_id=m.id, tenant_id=tenant.id, role=role, totp_secret=secret
        )
        db.session.commit()
        # On PostgreSQL an account is visible only to itself and its firm
        # (RLS): kept loaded but detached, so tests read person.user anywhere.
        db.session.refresh(user)
        db.session.expunge(user)
        set_db_user(None)
    return person


def firm_today(tenant_id: int):
    """Today as the firm sees it (its own time zone), which is what the app
    judges "today" by: authorizations, deadlines, future dates. Never compare
    app behaviour with the UTC date: they differ for hours every evening."""
    from advocate.practices.services import tenant_today

    with tenant_scope(tenant_id):  # RLS shows a firm its own row only
        tenant = db.session.get(Tenant, tenant_id)
        assert tenant is not None
        return tenant_today(tenant)


def make_firm(name: str = "Firm", slug: str | None = None) -> Firm:
    from tenants.scoping import lookup_tenant_slug

    n = next(_seq)
    tenant = Tenant(name=name, slug=slug or f"firm-{n}", letterhead_name=name)
    db.session.add(tenant)
    # On PostgreSQL a firm's row is visible only in its own scope (RLS), as the
    # app sees it: inserted under its slug, then kept loaded but detached, so
    # tests can read firm.tenant.id and .slug outside any scope.
    with lookup_tenant_slug(tenant.slug):
        db.session.flush()
        tid = tenant.id
        db.session.commit()
    with tenant_scope(tid):
        db.session.refresh(tenant)
    db.session.expunge(tenant)
    owner = make_user(tenant, "owner", name=f"{name} Owner")
    return Firm(tenant=tenant, owner=owner, people={"owner": owner})


def totp_code(person: Person) -> str:
    """A code for a step this user has not used yet (the server refuses a
    replayed step). The current step, else the next (the server accepts one
    step of drift); never the previous one, which can expire mid-request.
    A third log-in within one 30-second step waits for the next step."""
    import time

    totp = pyotp.TOTP(person.totp_secret)
    for _ in range(2):
        db.session.expire_all()
        with user_scope(person.user.id):
            user = db.session.get(User, person.user.id)
        now_step = int(utcnow().timestamp()) // 30
        for step in (now_step, now_step + 1):
            if user.totp_last_step is None or step > user.totp_last_step:
                return totp.generate_otp(step)
        time.sleep(30 - utcnow().timestamp() % 30 + 0.05)
    raise AssertionError("no unused TOTP step")


def login(browser, person: Person, *, expect_ok: bool = True):
    r = browser.post("/login", {"email": person.user.email, "password": person.password})
    if person.totp_secret:
        assert r.status_code == 302 and "/login/two-factor" in r.headers["Location"], r.status_code
        r = browser.post("/login/two-factor", {"code": totp_code(person)})
    if expect_ok:
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        assert "/login" not in r.headers["Location"]
    return r


def make_practice(
    tenant: Tenant, *, name: str = "Lakeside Orthopedics", npi: str = "1234567893", **kw
):
    """A practice with plain valid data (tests needing validation use the service)."""
    from advocate.practices.models import Practice

    with tenant_scope(tenant.id):
        p = Practice(
            tenant_id=tenant.id,
            name=name,
            npi=npi,
            tin=kw.pop("tin", "123456789"),
            specialty=kw.pop("specialty", "Orthopedic surgery"),
            address_line1=kw.pop("address_line1", "1 Main Street"),
            city=kw.pop("city", "New York"),
            state=kw.pop("state", "NY"),
            zip=kw.pop("zip", "10001"),
            default_pos=kw.pop("default_pos", "11"),
            **kw,
        )
        db.session.add(p)
        db.session.flush()
        pid = p.id
        db.session.commit()
    return pid


def make_payer(tenant: Tenant, *, name: str = "Acme Health Plan", **kw):
    from advocate.payers.models import Payer

    with tenant_scope(tenant.id):
        p = Payer(
            tenant_id=tenant.id,
            name=name,
            name_key=" ".join(name.casefold().split()),
            plan_types=kw.pop("plan_types", ["erisa_self_funded"]),
            **kw,
        )
        db.session.add(p)
        db.session.flush()
        pid = p.id
        db.session.commit()
    return pid


def case_payload(practice_id: int, payer_id: int, **overrides) -> dict:
    data = {
        "practice_id": practice_id,
        "payer_id": payer_id,
        "plan_type": "erisa_self_funded",
        "patient_first_name": "Jane",
        "patient_last_name": "Doe",
        "patient_dob": "1980-04-02",
        "member_id": "W123456789",
        "payer_claim_number": "CLM-0001",
        "patient_control_number": "PCN-0001",
        "service_from": "2026-03-02",
        "service_to": "2026-03-02",
        "place_of_service": "11",
        "lines": [
            {
                "code": "99213",
                "modifiers": [],
                "units": 1,
                "billed": "250.00",
                "allowed": "80.00",
                "paid": "64.00",
                "patient_resp": "16.00",
                "adjustments": [{"group": "CO", "reason": "45", "amount": "170.00"}],
            },
            {
                "code": "20610",
                "modifiers": ["RT"],
                "units": 1,
                "billed": "400.00",
                "allowed": "120.00",
                "paid": "96.00",
                "patient_resp": "24.00",
            },
        ],
    }
    data.update(overrides)
    return data


def make_case(
    tenant: Tenant, practice_id: int, payer_id: int, actor_id: int | None = None, **overrides
) -> int:
    from advocate.cases.services import create_case

    with tenant_scope(tenant.id):
        case = create_case(
            tenant_id=tenant.id,
            actor_id=actor_id,
            data=case_payload(practice_id, payer_id, **overrides),
        )
        cid = case.id
        db.session.commit()
    return cid


def api_headers(person: Person, name: str = "test token") -> dict:
    """A new API token for `person`, as the Authorization header."""
    from advocate.auth.models import ApiToken, new_token, token_hash

    raw = new_token("adv_")
    with tenant_scope(person.tenant_id):
        db.session.add(
            ApiToken(
                membership_id=person.membership_id,
                name=name,
                token_prefix=raw[:8],
                token_hash=token_hash(raw),
            )
        )
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}
