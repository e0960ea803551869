"""The firm's directory of professional associations."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from advocate.associations.models import Association
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login, make_firm, make_user
from tests.practices.practice_helpers import add_practice, count


def _text(r) -> str:
    return r.get_data(as_text=True)


def _form(**overrides) -> dict:
    data = {
        "name": "American Society of Anesthesiologists",
        "specialty": "Anesthesiology",
        "url": "https://www.asahq.org",
        "contact_name": "Payment advocacy desk",
        "contact_email": "advocacy@asahq.example.org",
        "contact_phone": "(847) 555-0100",
        "notes": "",
    }
    data.update(overrides)
    return data


@pytest.fixture()
def admin(db_app, make_browser):
    firm = make_firm()
    b = make_browser()
    login(b, make_user(firm.tenant, "admin"))
    b.firm = firm
    return b


def _add(tenant_id: int, name: str, specialty: str) -> int:
    with tenant_scope(tenant_id):
        a = Association(name=name, specialty=specialty)
        db.session.add(a)
        db.session.flush()
        aid = a.id
        db.session.commit()
    return aid


def test_add_edit_and_remove_an_association(admin):
    tid = admin.firm.tenant.id
    r = admin.post("/associations/new", _form())
    assert r.status_code == 302
    with tenant_scope(tid):
        a = db.session.scalar(select(Association))
        aid = a.id
        assert (a.specialty, a.url) == ("Anesthesiology", "https://www.asahq.org")
    assert "American Society of Anesthesiologists" in _text(admin.get("/associations/"))
    r = admin.post(
        f"/associations/{aid}/edit", _form(name="ASA", notes="Statement on NSA rates, 2024")
    )
    assert r.status_code == 302
    with tenant_scope(tid):
        assert db.session.get(Association, aid).name == "ASA"
    assert admin.post(f"/associations/{aid}/delete").status_code == 302
    assert count(tid, Association) == 0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "Enter the association"),
        ({"specialty": ""}, "specialty", "Choose the specialty"),
        ({"specialty": "Astrology"}, "specialty", "Not a valid choice"),
        ({"url": "javascript:alert(1)"}, "url", "full web address"),
        ({"url": "asahq.org"}, "url", "full web address"),
        ({"contact_email": "nope"}, "contact_email", "Invalid email"),
    ],
)
def test_bad_input_is_a_field_error_and_nothing_is_saved(admin, overrides, field, message):
    r = admin.post("/associations/new", _form(**overrides))
    assert r.status_code == 422
    assert message in _text(r) and f'id="{field}-error"' in _text(r)
    assert count(admin.firm.tenant.id, Association) == 0


def test_list_filters_by_specialty_and_search(admin):
    tid = admin.firm.tenant.id
    _add(tid, "American Society of Anesthesiologists", "Anesthesiology")
    _add(tid, "American Academy of Orthopaedic Surgeons", "Orthopedic surgery")
    _add(make_firm("Other").tenant.id, "Another firm's society", "Anesthesiology")
    add_practice(tid, specialty="Anesthesiology")
    body = _text(admin.get("/associations/?specialty=Anesthesiology"))
    assert "Anesthesiologists" in body and "Orthopaedic" not in body and "Another firm" not in body
    assert "Showing 1–1 of 1" in body
    assert "Orthopaedic" in _text(admin.get("/associations/?q=orthop"))
    assert "No associations match" in _text(admin.get("/associations/?q=nothing-like-this"))


def test_staff_read_the_directory_but_only_managers_change_it(db_app, make_browser):
    firm = make_firm()
    aid = _add(firm.tenant.id, "ASA", "Anesthesiology")
    b = make_browser()
    login(b, make_user(firm.tenant, "advocate"))
    assert b.get("/associations/").status_code == 200
    assert b.get("/associations/new").status_code == 403
    assert b.post("/associations/new", _form()).status_code == 403
    assert b.post(f"/associations/{aid}/edit", _form(name="Changed")).status_code == 403
    assert b.post(f"/associations/{aid}/delete").status_code == 403
    with tenant_scope(firm.tenant.id):
        assert db.session.get(Association, aid).name == "ASA"


def test_another_firms_association_is_a_404(admin):
    other = make_firm("Other")
    aid = _add(other.tenant.id, "Theirs", "Anesthesiology")
    assert admin.get(f"/associations/{aid}/edit").status_code == 404
    assert admin.post(f"/associations/{aid}/edit", _form(name="Mine now")).status_code == 404
    assert admin.post(f"/associations/{aid}/delete").status_code == 404
    with tenant_scope(other.tenant.id):
        assert db.session.get(Association, aid).name == "Theirs"
