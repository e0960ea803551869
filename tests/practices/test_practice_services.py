"""Practices, versioned fee agreements and authorizations: the service rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.billing.fees import Payment, accrue
from advocate.extensions import db
from advocate.practices import services
from advocate.practices.models import FeeAgreement, Practice, PracticeAuthorization
from advocate.practices.services import ValidationFailed
from tenants import tenant_scope
from tests.factories import make_firm, make_payer
from tests.practices.practice_helpers import (
    add_authorization,
    add_practice,
    count,
    practice_data,
)

D = Decimal


def _fields(err: ValidationFailed) -> set[str]:
    return {f for f, _ in err.errors}


def _add(tenant_id, practice_id, effective, percent="25.00", **kw):
    with tenant_scope(tenant_id):
        practice = db.session.get(Practice, practice_id)
        terms = {
            "basis": "incremental",
            "minimum": None,
            "cap": None,
            "idr_fee_bearer": "firm",
            "billing_cadence": "per_settlement",
        }
        terms.update(kw)
        a = services.add_fee_agreement(
            practice, actor=None, effective_date=effective, percent=D(percent), **terms
        )
        aid = a.id
        db.session.commit()
    return aid


# --------------------------------------------------------------------------- practices


def test_create_practice_normalises_and_masks_the_tin(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    with tenant_scope(tid):
        p = services.create_practice(
            tenant_id=tid,
            actor=None,
            data=practice_data(tin="12-3456789", specialty="orthopedic SURGERY", state="ny"),
        )
        db.session.commit()
        assert p.tin == "123456789"
        assert p.tin_masked == "XX-XXX6789"
        assert p.specialty == "Orthopedic surgery" and p.state == "NY"
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "practice.created"))
        assert ev.object_id == str(p.id) and "123456789" not in str(ev.details)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("npi", "1234567890", "check digit"),
        ("npi", "12345", "exactly 10 digits"),
        ("npi", "", "Enter the 10-digit NPI"),
        ("tin", "12-34567", "9 digits"),
        ("tin", "000000000", "all zeros"),
        ("zip", "1220", "5 digits"),
        ("zip", "12207-12", "5 digits"),
        ("state", "XX", "two-letter code"),
        ("specialty", "Astrology", "from the list"),
        ("default_pos", "98", "place of service"),
        ("status", "archived", "active, paused or offboarded"),
        ("name", "  ", "legal name"),
    ],
)
def test_bad_practice_fields_are_named_and_nothing_is_saved(db_app, field, value, message):
    firm = make_firm()
    tid = firm.tenant.id
    with tenant_scope(tid), pytest.raises(ValidationFailed) as exc:
        services.create_practice(tenant_id=tid, actor=None, data=practice_data(**{field: value}))
    assert [f for f, _ in exc.value.errors] == [field]
    assert message in exc.value.errors[0][1]
    db.session.rollback()
    assert count(tid, Practice) == 0


def test_every_problem_is_reported_at_once(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    with tenant_scope(tid), pytest.raises(ValidationFailed) as exc:
        services.create_practice(
            tenant_id=tid, actor=None, data=practice_data(npi="1234567890", tin="1", zip="abc")
        )
    assert _fields(exc.value) == {"npi", "tin", "zip"}


def test_api_values_must_be_text(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    with tenant_scope(tid), pytest.raises(ValidationFailed) as exc:
        services.create_practice(
            tenant_id=tid, actor=None, data=practice_data(npi=1234567893, zip=12207)
        )
    assert _fields(exc.value) == {"npi", "zip"}


def test_an_npi_is_unique_within_the_firm_but_not_across_firms(db_app):
    a, b = make_firm("Alpha"), make_firm("Bravo")
    pid = add_practice(a.tenant.id, npi="1234567893")
    with tenant_scope(a.tenant.id), pytest.raises(ValidationFailed) as exc:
        services.create_practice(
            tenant_id=a.tenant.id, actor=None, data=practice_data(npi="1234567893")
        )
    assert _fields(exc.value) == {"npi"} and "already has this NPI" in exc.value.errors[0][1]
    db.session.rollback()
    with tenant_scope(a.tenant.id):  # editing the practice itself keeps its NPI
        practice = db.session.get(Practice, pid)
        services.update_practice(practice, actor=None, data=practice_data(npi="1234567893", tin=""))
        db.session.commit()
    with tenant_scope(b.tenant.id):
        services.create_practice(
            tenant_id=b.tenant.id, actor=None, data=practice_data(npi="1234567893")
        )
        db.session.commit()
    assert count(b.tenant.id, Practice) == 1


def test_update_keeps_the_tin_when_left_blank_and_audits_field_names_only(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid, tin="987654321", city="Albany")
    with tenant_scope(tid):
        p = db.session.get(Practice, pid)
        changed = services.update_practice(
            p, actor=None, data=practice_data(npi=p.npi, tin="", city="Troy", status="paused")
        )
        db.session.commit()
        assert changed == ["city", "phone", "status"]
        assert p.tin == "987654321" and p.city == "Troy" and p.status == "paused"
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "practice.updated"))
        assert "city" in ev.details["fields"] and ev.details["status"] == {
            "from": "active",
            "to": "paused",
        }
        assert "Troy" not in str(ev.details)


# --------------------------------------------------------------------------- fee agreements


def test_the_agreement_in_force_on_a_date_is_the_latest_effective_on_or_before_it(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid)
    v1 = _add(tid, pid, date(2024, 1, 1), "25.00")
    v2 = _add(tid, pid, date(2025, 7, 1), "22.50", minimum=D("250.00"), cap=D("30000.00"))
    with tenant_scope(tid):
        assert services.agreement_on(pid, date(2023, 12, 31)) is None
        assert services.agreement_on(pid, date(2024, 1, 1)).id == v1
        assert services.agreement_on(pid, date(2025, 6, 30)).id == v1
        assert services.agreement_on(pid, date(2025, 7, 1)).id == v2
        assert services.agreement_on(pid, date(2031, 1, 1)).id == v2
        # Old versions are kept.
        assert (
            db.session.scalars(select(FeeAgreement.id).where(FeeAgreement.practice_id == pid)).all()
            != []
        )
        assert count(tid, FeeAgreement) == 2


def test_fee_terms_resolver_feeds_the_fee_ledger(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid)
    _add(tid, pid, date(2024, 1, 1), "25.00")
    _add(tid, pid, date(2025, 7, 1), "20.00", cap=D("1000.00"))
    with tenant_scope(tid):
        resolve = services.fee_terms_resolver(pid)
    assert resolve(date(2024, 6, 1)).percent == D("25.00")
    assert resolve(date(2025, 7, 1)).percent == D("20.00") and resolve(date(2025, 7, 1)).cap == D(
        "1000.00"
    )
    with pytest.raises(LookupError):
        resolve(date(2023, 12, 31))
    accruals = accrue(
        [
            Payment(1, date(2025, 1, 10), D("100.00"), is_initial=True),
            Payment(2, date(2025, 3, 1), D("400.00")),
            Payment(3, date(2025, 8, 1), D("500.00")),
        ],
        resolve,
    )
    # 25% of 400 before the change, 20% of 500 after it.
    assert [a.amount for a in accruals] == [D("0.00"), D("100.00"), D("100.00")]


def test_a_practice_with_no_agreement_has_a_resolver_that_refuses_every_date(db_app):
    firm = make_firm()
    pid = add_practice(firm.tenant.id)
    with tenant_scope(firm.tenant.id):
        resolve = services.fee_terms_resolver(pid)
    with pytest.raises(LookupError):
        resolve(date(2026, 1, 1))


def test_two_versions_with_the_same_effective_date_are_refused(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid)
    other = add_practice(tid)
    _add(tid, pid, date(2025, 1, 1), "25.00")
    with pytest.raises(ValidationFailed) as exc:
        _add(tid, pid, date(2025, 1, 1), "30.00")
    db.session.rollback()
    assert _fields(exc.value) == {"effective_date"}
    assert "already takes effect on 2025-01-01" in exc.value.errors[0][1]
    assert count(tid, FeeAgreement) == 1
    _add(tid, other, date(2025, 1, 1), "30.00")  # another practice's calendar is its own
    assert count(tid, FeeAgreement) == 2


@pytest.mark.parametrize(
    ("terms", "fields"),
    [
        ({"percent": "100.01"}, {"percent"}),
        ({"percent": "-1"}, {"percent"}),
        ({"percent": "33.333"}, {"percent"}),
        ({"minimum": D("500.00"), "cap": D("499.99")}, {"cap"}),
        ({"minimum": D("-1.00")}, {"minimum"}),
        ({"basis": "net"}, {"basis"}),
        ({"idr_fee_bearer": "payer"}, {"idr_fee_bearer"}),
        ({"billing_cadence": "weekly"}, {"billing_cadence"}),
        (
            {"percent": "150", "minimum": D("10.00"), "cap": D("5.00"), "basis": "x"},
            {"percent", "cap", "basis"},
        ),
    ],
)
def test_bad_terms_are_field_errors_and_nothing_is_saved(db_app, terms, fields):
    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid)
    percent = terms.pop("percent", "25.00")
    with pytest.raises(ValidationFailed) as exc:
        _add(tid, pid, date(2025, 1, 1), percent, **terms)
    db.session.rollback()
    assert _fields(exc.value) == fields
    assert count(tid, FeeAgreement) == 0


def test_percent_bounds_are_inclusive(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid)
    _add(tid, pid, date(2025, 1, 1), "0")
    _add(tid, pid, date(2025, 2, 1), "100.00", minimum=D("100.00"), cap=D("100.00"))
    assert count(tid, FeeAgreement) == 2


def test_only_a_version_not_yet_in_force_can_be_withdrawn(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid)
    past = _add(tid, pid, date(2025, 1, 1))
    future = _add(tid, pid, date(2026, 6, 1))
    with tenant_scope(tid):
        with pytest.raises(ValidationFailed):
            services.delete_scheduled_agreement(
                db.session.get(FeeAgreement, past), actor=None, today=date(2026, 3, 1)
            )
        services.delete_scheduled_agreement(
            db.session.get(FeeAgreement, future), actor=None, today=date(2026, 3, 1)
        )
        db.session.commit()
        assert db.session.scalars(select(FeeAgreement.id)).all() == [past]


# --------------------------------------------------------------------------- authorizations


def test_authorization_is_valid_from_signature_through_expiry(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid)
    with tenant_scope(tid):
        assert services.authorization_status(pid, date(2025, 6, 1)) == "missing"
        assert services.has_valid_authorization(pid, date(2025, 6, 1)) is False
    add_authorization(tid, pid, date(2025, 1, 10), date(2025, 12, 31))
    with tenant_scope(tid):
        assert services.has_valid_authorization(pid, date(2025, 1, 9)) is False
        assert services.has_valid_authorization(pid, date(2025, 1, 10)) is True
        assert services.has_valid_authorization(pid, date(2025, 12, 31)) is True
        assert services.has_valid_authorization(pid, date(2026, 1, 1)) is False
        assert services.authorization_status(pid, date(2025, 6, 1)) == "valid"
        assert services.authorization_status(pid, date(2026, 1, 1)) == "expired"
        # Before the first signature there is nothing in force, and nothing lapsed.
        assert services.authorization_status(pid, date(2024, 1, 1)) == "missing"


def test_a_renewed_authorization_makes_the_practice_valid_again(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid)
    add_authorization(tid, pid, date(2024, 1, 1), date(2024, 12, 31))
    add_authorization(tid, pid, date(2025, 2, 1), None)  # runs until revoked
    with tenant_scope(tid):
        assert services.authorization_statuses([pid], date(2025, 1, 15)) == {pid: "expired"}
        assert services.authorization_statuses([pid], date(2030, 1, 1)) == {pid: "valid"}


def test_a_revoked_authorization_is_not_valid(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid)
    aid = add_authorization(tid, pid, date(2025, 1, 1))
    with tenant_scope(tid):
        services.revoke_authorization(db.session.get(PracticeAuthorization, aid), actor=None)
        db.session.commit()
        assert services.has_valid_authorization(pid, date(2025, 6, 1)) is False
        assert services.authorization_status(pid, date(2025, 6, 1)) == "missing"


def test_scope_limits_the_payers_covered(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    listed = add_practice(tid)
    everyone = add_practice(tid)
    # Listed payer ids are the firm's own payers (issue 15: every id is checked).
    p3, p5, p7, p9 = (make_payer(firm.tenant, name=f"Plan {n}") for n in (3, 5, 7, 9))
    with tenant_scope(tid):
        services.add_authorization(
            db.session.get(Practice, listed),
            actor=None,
            today=date(2026, 1, 1),
            signed_on=date(2025, 1, 1),
            scope="listed",
            payer_ids=[p7, p3],
            payer_names="Aetna\n\nCigna\n",
        )
        services.add_authorization(
            db.session.get(Practice, everyone),
            actor=None,
            today=date(2026, 1, 1),
            signed_on=date(2025, 1, 1),
            scope="all",
            payer_ids=[p9],
        )
        db.session.commit()
        auth = db.session.scalar(
            select(PracticeAuthorization).where(PracticeAuthorization.practice_id == listed)
        )
        assert auth.payer_ids == sorted([p3, p7]) and auth.payer_names == ["Aetna", "Cigna"]
        on = date(2025, 6, 1)
        assert services.has_valid_authorization(listed, on, payer_id=p3) is True
        assert services.has_valid_authorization(listed, on, payer_id=p5) is False
        assert services.has_valid_authorization(listed, on) is True
        assert services.has_valid_authorization(everyone, on, payer_id=p5) is True
        with pytest.raises(TypeError):
            services.has_valid_authorization(listed, on, payer_id="3")


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"scope": "listed", "payer_ids": ["3"]}, {"payer_ids"}),
        ({"scope": "listed", "payer_ids": [3, True]}, {"payer_ids"}),
        ({"scope": "listed", "payer_ids": "3, seven"}, {"payer_ids"}),
        ({"scope": "listed", "payer_ids": [0]}, {"payer_ids"}),
        ({"scope": "listed"}, {"payer_names"}),
        ({"scope": "some"}, {"scope"}),
        ({"signed_on": date(2026, 1, 2)}, {"signed_on"}),
        ({"expires_on": date(2024, 12, 31)}, {"expires_on"}),
        ({"document_id": "12"}, {"document_id"}),
    ],
)
def test_bad_authorizations_are_field_errors_and_nothing_is_saved(db_app, kwargs, fields):
    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid)
    args = {"signed_on": date(2025, 1, 1), "today": date(2026, 1, 1)}
    args.update(kwargs)
    with tenant_scope(tid):
        with pytest.raises(ValidationFailed) as exc:
            services.add_authorization(db.session.get(Practice, pid), actor=None, **args)
        db.session.rollback()
    assert _fields(exc.value) == fields
    assert count(tid, PracticeAuthorization) == 0


def test_payer_ids_from_a_form_are_parsed_as_ints(db_app):
    assert services.parse_payer_ids("3, 17 4;3") == ([3, 4, 17], None)
    assert services.parse_payer_ids("") == ([], None)
    assert services.parse_payer_ids("3.5")[1] is not None


def test_the_document_reference_is_kept(db_app):
    from advocate.documents.models import Document

    firm = make_firm()
    tid = firm.tenant.id
    pid = add_practice(tid)
    with tenant_scope(tid):
        # The reference must be a document of this practice (issue 15: ids are checked).
        doc = Document(
            owner_type="practice",
            owner_id=pid,
            category="authorization",
            filename="loa.pdf",
            kind="pdf",
            content_type="application/pdf",
            size_bytes=1,
            sha256="0" * 64,
            storage_key=f"tenants/{tid}/x",
        )
        db.session.add(doc)
        db.session.flush()
        doc_id = doc.id
        a = services.add_authorization(
            db.session.get(Practice, pid),
            actor=None,
            today=date(2026, 1, 1),
            signed_on=date(2025, 1, 1),
            document_id=doc_id,
        )
        db.session.commit()
        assert db.session.get(PracticeAuthorization, a.id).document_id == doc_id
