"""Practice people, walked over the whole URL map: they change nothing, and
they never reach another practice of their own firm.

Firm A is seeded by every feature's isolation seeder (its practice, with a
practice admin and a practice user); a second practice B of the same firm is
added here with its own people, agreement, authorization, contact and
invitation.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from advocate.associations.models import Association
from advocate.auth.access import PENDING, PUBLIC
from advocate.auth.models import new_token, token_hash
from advocate.db import utcnow
from advocate.extensions import db
from advocate.practices.models import FeeAgreement, Practice, PracticeAuthorization, PracticeContact
from tenants import tenant_scope
from tenants.models import Membership
from tenants.onboarding.models import Invitation
from tests.factories import firm_today, login, make_user
from tests.isolation import TOKEN_ARGS, seed_firm

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# A person's own account: log out, change password, end their other sessions, recovery codes.
ACCOUNT_ENDPOINTS = {
    "auth.logout",
    "auth.change_password",
    "auth.revoke_other_session",
    "auth.regenerate_recovery_codes",
}
# The practice admin's colleague management: works for their own practice only.
COLLEAGUE_ENDPOINTS = {
    "portal.invite",
    "portal.remove",
    "portal.restore",
    "portal.revoke_invitation",
}
PRACTICE_ARGS = {
    "practice_id",
    "agreement_id",
    "authorization_id",
    "contact_id",
    "membership_id",
    "invitation_id",
}
B_MARKER = "PBRAVO9Q"


def _methods(rule) -> list[str]:
    return sorted(m for m in rule.methods if m not in {"HEAD", "OPTIONS"})


def _access(app, rule):
    return getattr(app.view_functions[rule.endpoint], "_access", None)


def _exempt(app, rule) -> bool:
    return (
        _access(app, rule) in (PUBLIC, PENDING)
        or rule.endpoint in ACCOUNT_ENDPOINTS
        or rule.endpoint == "static"
    )


def _combos(rule, ids: dict[str, list]) -> list[dict]:
    combos = [{}]
    for arg in sorted(rule.arguments):
        if isinstance(rule._converters[arg], IntegerConverter):
            assert arg in ids, f"route {rule.rule} takes <{arg}>, which no isolation seeder fills"
            choices = ids[arg]
        elif arg in TOKEN_ARGS:
            choices = ["not-a-real-token-0123456789abcdef"]
        else:
            raise AssertionError(f"route {rule.rule}: teach this crawler about <{arg}>")
        combos = [dict(c, **{arg: v}) for c in combos for v in choices]
    return combos


def _url(app, rule, values) -> str:
    return app.url_map.bind("localhost").build(rule.endpoint, values, method=_methods(rule)[0])


def _send(browser, method, url):
    if method == "GET":
        return browser.get(url)
    if url.startswith("/api/"):
        return browser.open(url, method=method, json={})
    return browser.open(url, method=method, data={"csrf_token": browser.csrf()})


def _second_practice(firm) -> dict:
    """Practice B of the same firm, with one of everything."""
    t = firm.tenant
    today = firm_today(t.id)
    with tenant_scope(t.id):
        p = Practice(
            tenant_id=t.id,
            name=f"{B_MARKER} Anesthesia Group",
            npi="1548729361",
            tin="221987654",
            specialty="Anesthesiology",
            address_line1="9 Elm Street",
            city="Newark",
            state="NJ",
            zip="07105",
            notes=f"{B_MARKER} note",
        )
        db.session.add(p)
        db.session.flush()
        agreement = FeeAgreement(
            practice_id=p.id,
            effective_date=today + timedelta(days=10),
            percent=Decimal("31.00"),
            basis="gross",
            notes=f"{B_MARKER} terms",
        )
        auth = PracticeAuthorization(
            practice_id=p.id,
            signed_on=today - timedelta(days=3),
            scope="all",
            notes=f"{B_MARKER} letter",
        )
        contact = PracticeContact(practice_id=p.id, name=f"{B_MARKER} contact")
        inv = Invitation(
            email=f"b-invitee@{t.slug}.example.com",
            name=f"{B_MARKER} invitee",
            role="practice_user",
            practice_id=p.id,
            token_hash=token_hash(new_token()),
            expires_at=utcnow() + timedelta(days=7),
        )
        db.session.add_all([agreement, auth, contact, inv])
        db.session.flush()
        ids = {
            "practice_id": [p.id],
            "agreement_id": [agreement.id],
            "authorization_id": [auth.id],
            "contact_id": [contact.id],
            "invitation_id": [inv.id],
        }
        db.session.commit()
    people = [
        make_user(
            t, role, name=f"{B_MARKER} {role}", practice_id=ids["practice_id"][0], with_totp=False
        )
        for role in ("practice_admin", "practice_user")
    ]
    ids["membership_id"] = [person.membership_id for person in people]
    return ids


def _snapshot(tenant_id: int) -> dict:
    with tenant_scope(tenant_id):
        counts = {
            m.__name__: db.session.scalar(select(func.count(m.id)).where(m.tenant_id == tenant_id))
            for m in (
                Practice,
                FeeAgreement,
                PracticeAuthorization,
                PracticeContact,
                Association,
                Invitation,
            )
        }
        counts["revoked authorizations"] = db.session.scalar(
            select(func.count(PracticeAuthorization.id)).where(
                PracticeAuthorization.revoked_at.is_not(None)
            )
        )
        counts["revoked invitations"] = db.session.scalar(
            select(func.count(Invitation.id)).where(Invitation.revoked_at.is_not(None))
        )
        counts["inactive memberships"] = db.session.scalar(
            select(func.count(Membership.id)).where(
                Membership.tenant_id == tenant_id, Membership.is_active.is_(False)
            )
        )
        counts["practices"] = sorted(
            (p.name, p.npi, p.city, p.status) for p in db.session.scalars(select(Practice))
        )
    return counts


@pytest.fixture()
def firm(db_app):
    a = seed_firm("Alpha", "QXALPHA7")
    b_ids = _second_practice(a.firm)
    return a, b_ids


@pytest.mark.parametrize("role", ["practice_user", "practice_admin"])
def test_every_mutating_route_refuses_a_practice_person(db_app, make_browser, firm, role):
    a, b_ids = firm
    tid = a.firm.tenant.id
    person = a.firm.people[role]
    with tenant_scope(tid):  # the practice this person belongs to (seeders may add others first)
        own_practice = db.session.get(Membership, person.membership_id).practice_id
    # Every id of the firm: its own practice's and practice B's.
    ids = {k: list(v) for k, v in a.ids.items()}
    for k, v in b_ids.items():
        ids[k] = ids.get(k, []) + v
    with tenant_scope(tid):
        own_colleagues = set(
            db.session.scalars(
                select(Membership.id).where(
                    Membership.practice_id == own_practice, Membership.role == "practice_user"
                )
            )
        )
        own_invitations = set(
            db.session.scalars(select(Invitation.id).where(Invitation.practice_id == own_practice))
        )
    before = _snapshot(tid)
    browser = make_browser("10.0.9.1")
    login(browser, person)

    failures, checked = [], 0
    for rule in sorted(db_app.url_map.iter_rules(), key=lambda r: r.rule):
        if _exempt(db_app, rule):
            continue
        for method in set(_methods(rule)) & MUTATING:
            for values in _combos(rule, ids):
                colleague_route = role == "practice_admin" and rule.endpoint in COLLEAGUE_ENDPOINTS
                if colleague_route and (
                    values.get("membership_id") in own_colleagues
                    or values.get("invitation_id") in own_invitations
                ):
                    continue  # their own practice: allowed, tested in test_portal.py
                url = _url(db_app, rule, values)
                r = _send(browser, method, url)
                checked += 1
                if url.startswith("/api/"):
                    expected = {
                        401
                    }  # practice people hold no API tokens; cookies never authenticate
                elif colleague_route and not values:
                    expected = {422}  # portal.invite, empty form: refused, nothing sent
                elif colleague_route:
                    expected = {404}
                else:
                    expected = {403, 404}
                if r.status_code not in expected:
                    failures.append(
                        f"{method} {url} -> {r.status_code}, expected {sorted(expected)}"
                    )
    assert failures == []
    assert checked > 30
    assert browser.get("/portal/").status_code == 200  # still logged in: the crawl was not vacuous
    assert _snapshot(tid) == before


@pytest.mark.parametrize("role", ["practice_user", "practice_admin"])
def test_a_practice_person_never_reaches_another_practice_of_the_firm(
    db_app, make_browser, firm, role
):
    a, b_ids = firm
    person = a.firm.people[role]
    b_values = {k: list(v) for k, v in a.ids.items()}
    b_values.update(b_ids)  # practice-scoped arguments take practice B's ids only
    own_values = {k: list(v) for k, v in a.ids.items()}
    browser = make_browser("10.0.9.2")
    login(browser, person)

    failures, practice_routes = [], 0
    for rule in sorted(db_app.url_map.iter_rules(), key=lambda r: r.rule):
        if _exempt(db_app, rule):
            continue
        access = _access(db_app, rule)
        may_call = access is not None and role in access
        scoped = bool(set(rule.arguments) & PRACTICE_ARGS)
        for method in _methods(rule):
            for values in _combos(rule, b_values):
                url = _url(db_app, rule, values)
                r = _send(browser, method, url)
                body = r.get_data()  # pages, and files (PDF, XLSX) too
                if B_MARKER.encode() in body:
                    failures.append(f"{method} {url} -> shows practice B")
                if not scoped:
                    if values and may_call and 200 <= r.status_code < 300:
                        failures.append(f"{method} {url} -> {r.status_code}")
                    continue
                practice_routes += 1
                if url.startswith("/api/"):
                    expected = 401
                elif may_call:
                    expected = 404  # a route they may use, with another practice's ids
                else:
                    expected = 403  # a staff route: refused whatever the id...
                    for own in _combos(rule, own_values)[:1]:
                        same = _send(browser, method, _url(db_app, rule, own)).status_code
                        if same != 403:  # ...so the answer says nothing about B
                            failures.append(f"{method} {rule.rule} with own ids -> {same}")
                if r.status_code != expected:
                    failures.append(f"{method} {url} -> {r.status_code}, expected {expected}")
    assert failures == []
    assert practice_routes > 10
    assert browser.get("/portal/").status_code == 200
