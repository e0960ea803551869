"""Seed data for the tenant-isolation crawler.

Every feature that adds a tenant-scoped model or a route argument registers a
seeder here: it creates one object of each of its models for a firm and
returns the route-argument names those objects' ids fill. The crawler fails on
any route argument no seeder fills, so new routes are covered automatically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from advocate.auth.models import ApiToken, User, new_token, token_hash
from advocate.extensions import db
from advocate.mail import send_mail
from tenants import tenant_scope, user_scope
from tests.factories import Firm, make_firm, make_user

# Route arguments that are secrets, not ids: the crawler tries a random value.
TOKEN_ARGS = {"token"}


@dataclass
class Seeded:
    firm: Firm
    marker: str
    ids: dict[str, list[int]] = field(default_factory=dict)

    def add(self, arg: str, value: int) -> None:
        self.ids.setdefault(arg, []).append(value)


Seeder = Callable[[Seeded], None]
SEEDERS: list[Seeder] = []


def seeder(fn: Seeder) -> Seeder:
    SEEDERS.append(fn)
    return fn


@seeder
def _people(s: Seeded) -> None:
    t = s.firm.tenant
    for role in ("admin", "advocate", "viewer"):
        p = make_user(t, role, name=f"{s.marker} {role} person")
        s.firm.people[role] = p
        s.add("membership_id", p.membership_id)
    s.add("membership_id", s.firm.owner.membership_id)


@seeder
def _tokens_and_invitations(s: Seeded) -> None:
    from tenants.onboarding.models import Invitation

    t = s.firm.tenant
    with tenant_scope(t.id):
        raw = new_token("adv_")
        tok = ApiToken(
            membership_id=s.firm.people["advocate"].membership_id,
            name=f"{s.marker} token",
            token_prefix=raw[:8],
            token_hash=token_hash(raw),
        )
        from datetime import timedelta

        from advocate.db import utcnow

        inv = Invitation(
            email=f"invitee@{t.slug}.example.com",
            name=f"{s.marker} invitee",
            role="advocate",
            token_hash=token_hash(new_token()),
            expires_at=utcnow() + timedelta(days=7),
        )
        db.session.add_all([tok, inv])
        send_mail("someone@example.com", f"{s.marker} subject", f"{s.marker} body", tenant_id=t.id)
        db.session.flush()
        s.add("token_id", tok.id)
        s.add("invitation_id", inv.id)
        db.session.commit()
        s.raw_api_token = raw


def _load_feature_seeders() -> None:
    """Each feature keeps its seeder in tests/seeders/<feature>.py."""
    import importlib
    import pkgutil

    import tests.seeders as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        importlib.import_module(f"tests.seeders.{mod.name}")


def seed_firm(name: str, marker: str) -> Seeded:
    _load_feature_seeders()
    firm = make_firm(f"{name} {marker}")
    # person.user is detached (RLS on users): change the row, as its own user.
    with tenant_scope(firm.tenant.id), user_scope(firm.owner.user.id):
        db.session.get(User, firm.owner.user.id).name = f"{marker} owner"
        db.session.commit()
    firm.owner.user.name = f"{marker} owner"
    s = Seeded(firm=firm, marker=marker)
    for fn in SEEDERS:
        fn(s)
    return s
