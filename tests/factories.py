"""Builders for test data. Each firm is built explicitly: there is no default
firm to leak into a test by accident."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pyotp

from advocate.auth import twofactor
from advocate.auth.models import User
from advocate.auth.passwords import hash_password
from advocate.db import utcnow
from advocate.extensions import db
from tenants import set_db_user, tenant_scope
from tenants.models import Membership, Tenant

PASSWORD = "correct-horse-battery-staple-42"
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


def make_user(tenant: Tenant, role: str, *, name: str | None = None, email: str | None = None,
              with_totp: bool = True, practice_id: int | None = None) -> Person:
    n = next(_seq)
    email = email or f"{role}{n}@{tenant.slug}.example.com"
    user = User(email=email, name=name or f"{role.title()} {n}", password_hash=hash_password(PASSWORD),
                password_changed_at=utcnow())
    secret = None
    with tenant_scope(tenant.id):
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
        person = Person(user=user, membership_id=m.id, tenant_id=tenant.id, role=role, totp_secret=secret)
        db.session.commit()
        set_db_user(None)
    return person


def make_firm(name: str = "Firm", slug: str | None = None) -> Firm:
    n = next(_seq)
    tenant = Tenant(name=name, slug=slug or f"firm-{n}", letterhead_name=name)
    db.session.add(tenant)
    db.session.commit()
    owner = make_user(tenant, "owner", name=f"{name} Owner")
    return Firm(tenant=tenant, owner=owner, people={"owner": owner})


def totp_code(person: Person) -> str:
    """A code for the next step this user has not used yet (the server
    refuses a replayed step)."""
    db.session.expire_all()
    user = db.session.get(User, person.user.id)
    totp = pyotp.TOTP(person.totp_secret)
    now_step = int(utcnow().timestamp()) // 30
    for step in (now_step - 1, now_step, now_step + 1):
        if user.totp_last_step is None or step > user.totp_last_step:
            return totp.generate_otp(step)
    raise AssertionError("no unused TOTP step left in this 90-second window")


def login(browser, person: Person, *, expect_ok: bool = True):
    r = browser.post("/login", {"email": person.user.email, "password": person.password})
    if person.totp_secret:
        assert r.status_code == 302 and "/login/two-factor" in r.headers["Location"], r.status_code
        r = browser.post("/login/two-factor", {"code": totp_code(person)})
    if expect_ok:
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        assert "/login" not in r.headers["Location"]
    return r
