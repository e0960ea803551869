"""The demo firm `make run` serves. Idempotent: running it twice changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from advocate.auth.models import User
from advocate.auth.passwords import hash_password
from advocate.extensions import db
from tenants import set_db_user, tenant_scope
from tenants.models import Membership, Tenant

DEMO_SLUG = "demo"
PEOPLE = [
    ("owner@demo.advocate.test", "Olivia Owner", "owner"),
    ("admin@demo.advocate.test", "Adam Admin", "admin"),
    ("advocate@demo.advocate.test", "Ava Advocate", "advocate"),
    ("viewer@demo.advocate.test", "Victor Viewer", "viewer"),
]


def seed(password: str) -> list[str]:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == DEMO_SLUG))
    if tenant is None:
        tenant = Tenant(
            name="Fairpay Advocacy Partners", slug=DEMO_SLUG, letterhead_name="Fairpay Advocacy Partners",
            address_line1="200 Park Avenue, Suite 1700", city="New York", state="NY", zip="10166",
            phone="(212) 555-0100",
        )
        db.session.add(tenant)
        db.session.flush()
    lines = [f"Demo firm: {tenant.name} (slug '{tenant.slug}')", "Demo logins (two-factor enrollment on first log-in):"]
    with tenant_scope(tenant.id):
        for email, name, role in PEOPLE:
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None:
                user = User(email=email, name=name, password_hash=hash_password(password))
                db.session.add(user)
                db.session.flush()
            set_db_user(user.id)
            m = db.session.scalar(
                select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user.id)
            )
            if m is None:
                db.session.add(Membership(tenant_id=tenant.id, user_id=user.id, role=role))
            lines.append(f"  {role:<9} {email}  /  {password}")
        db.session.commit()
    return lines
