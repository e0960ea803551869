"""Importing a payer list: upload, preview, confirm; all rows or none."""

from __future__ import annotations

import codecs
import io
import re

from sqlalchemy import select, update

from advocate.csvimport import ImportStash
from advocate.extensions import db
from advocate.payers.models import Payer, PayerContact
from tenants import tenant_scope
from tests.payers.conftest import add_payer, audit_actions, count

GOOD = (
    "Payer Name,Payer ID,Plan Types,Phone,Portal,Appeals Address,Appeals Fax,Contact Name,Contact Role,Contact Phone\n"
    "Northstar Health Plan,87726,ERISA; fully insured,800-555-0142,provider.northstar.example,"
    '"PO Box 30432\nSalt Lake City, UT 84130",800 555 0144,Dana Whitfield,Provider relations,800-555-0146 x2210\n'
    "Bluewater Benefit Administrators,BWB22,erisa_self_funded,(888) 555-0190,https://portal.bluewater.example,,,,,\n"
)
TOKEN_RE = re.compile(r'name="token"[^>]*value="([^"]+)"')


def _upload(browser, data: bytes, filename="payers.csv"):
    return browser.post("/payers/import", {"file": (io.BytesIO(data), filename)})


def _confirm(browser, preview_response):
    m = TOKEN_RE.search(preview_response.get_data(as_text=True))
    assert m, "no confirm form on the preview"
    return browser.post("/payers/import/confirm", {"token": m.group(1)})


def _payers(firm) -> dict[str, Payer]:
    with tenant_scope(firm.tenant.id):
        return {p.name: p for p in db.session.scalars(select(Payer))}


def test_the_import_page_documents_the_columns(owner_browser):
    r = owner_browser.get("/payers/import")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    for column in (
        "name",
        "payer_id",
        "plan_types",
        "portal_url",
        "appeals_fax",
        "contact_direct_line",
    ):
        assert f"<code>{column}</code>" in body
    assert "updates" in body and "UTF-8" in body
    t = owner_browser.get("/payers/import/template.csv")
    assert t.status_code == 200 and t.mimetype == "text/csv"
    assert t.get_data(as_text=True).startswith("name,payer_id,plan_types,")


def test_a_good_file_previews_then_imports_in_one_go(firm, owner_browser):
    r = _upload(owner_browser, GOOD.encode())
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "Northstar Health Plan" in body and "Bluewater Benefit Administrators" in body
    assert count(firm, Payer) == 0  # the preview saves nothing
    assert count(firm, ImportStash) == 1

    r = _confirm(owner_browser, r)
    assert r.status_code == 302 and r.headers["Location"].endswith("/payers/")
    payers = _payers(firm)
    assert set(payers) == {"Northstar Health Plan", "Bluewater Benefit Administrators"}
    ns = payers["Northstar Health Plan"]
    assert ns.edi_payer_id == "87726"
    assert ns.plan_types == ["erisa_self_funded", "fully_insured"]
    assert ns.portal_url == "https://provider.northstar.example"
    assert ns.appeals_address == "PO Box 30432\nSalt Lake City, UT 84130"
    assert ns.appeals_fax == "(800) 555-0144"
    with tenant_scope(firm.tenant.id):
        contact = db.session.scalar(select(PayerContact))
        assert (contact.name, contact.role, contact.direct_line) == (
            "Dana Whitfield",
            "Provider relations",
            "(800) 555-0146 ext. 2210",
        )
    assert count(firm, ImportStash) == 0  # used once
    actions = audit_actions(firm)
    assert actions.count("payer.created") == 2 and actions[-1] == "payers.imported"
    # The stash is gone: confirming twice imports nothing twice.
    r2 = owner_browser.post("/payers/import/confirm", {"token": "whatever"})
    assert r2.status_code == 302 and count(firm, Payer) == 2


def test_errors_on_several_lines_are_all_listed_and_nothing_is_saved(firm, owner_browser):
    data = (
        b"name,payer_id,provider_phone,portal_url,appeals_fax\n"  # line 1
        b"Good Payer,11111,800-555-0100,https://good.example,\n"  # line 2
        b"Bad Phone,22222,555-0100,,\n"  # line 3
        b"\n"  # line 4
        b"Bad URL,33333,,not a url,800-555-01\n"  # line 5
        b",44444,,,\n"  # line 6
    )
    r = _upload(owner_browser, data)
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "Line 3, column provider_phone: &#39;555-0100&#39; has 7 digits" in body
    assert "Line 5, column portal_url: &#39;not a url&#39; contains spaces" in body
    assert "Line 5, column appeals_fax: &#39;800-555-01&#39; has 8 digits" in body
    assert "Line 6, column name: is required." in body
    assert "4 error(s): nothing was imported" in body
    assert TOKEN_RE.search(body) is None  # no way to confirm
    assert count(firm, Payer) == 0
    assert count(firm, ImportStash) == 0
    assert "payers.imported" not in audit_actions(firm)


def test_a_file_with_a_byte_order_mark_imports(firm, owner_browser):
    r = _upload(owner_browser, codecs.BOM_UTF8 + b"Name,Payer ID\r\nCigna-like Health,62308\r\n")
    assert r.status_code == 200, r.get_data(as_text=True)
    _confirm(owner_browser, r)
    assert _payers(firm)["Cigna-like Health"].edi_payer_id == "62308"


def test_a_missing_required_column_is_refused(firm, owner_browser):
    r = _upload(owner_browser, b"payer_id,portal_url\n87726,https://x.example\n")
    assert r.status_code == 422
    assert "Line 1, column name: Required column &#39;name&#39;" in r.get_data(as_text=True)
    assert count(firm, Payer) == 0


def test_a_file_that_is_not_utf8_is_refused(firm, owner_browser):
    r = _upload(owner_browser, "name\nSeguros Médicos\n".encode("cp1252"))
    assert r.status_code == 422
    assert "not UTF-8" in r.get_data(as_text=True)
    assert count(firm, Payer) == 0


def test_no_file_is_a_field_error(owner_browser):
    r = owner_browser.post("/payers/import", {})
    assert r.status_code == 422
    assert "Choose a CSV file" in r.get_data(as_text=True)


def test_reimport_updates_by_name_and_leaves_empty_cells_alone(firm, owner_browser):
    _confirm(owner_browser, _upload(owner_browser, GOOD.encode()))
    again = (
        b"name,payer_id,provider_phone,contact_name,contact_role\n"
        b"NORTHSTAR  health plan,87727,,Dana Whitfield,Senior provider relations\n"
        b"Summit Mutual,55555,,,\n"
    )
    r = _upload(owner_browser, again)
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "1 existing payer(s) updated" in body
    _confirm(owner_browser, r)
    payers = _payers(firm)
    assert set(payers) == {
        "Northstar Health Plan",
        "Bluewater Benefit Administrators",
        "Summit Mutual",
    }
    ns = payers["Northstar Health Plan"]
    assert ns.edi_payer_id == "87727"  # a value replaces
    assert ns.provider_phone == "(800) 555-0142"  # an empty cell leaves it
    assert ns.plan_types == ["erisa_self_funded", "fully_insured"]  # no column: untouched
    assert count(firm, PayerContact) == 1
    with tenant_scope(firm.tenant.id):
        assert db.session.scalar(select(PayerContact.role)) == "Senior provider relations"
    assert audit_actions(firm).count("payer.updated") == 1


def test_confirm_refuses_someone_elses_or_a_tampered_upload(firm, owner_browser, person_browser):
    r = _upload(owner_browser, GOOD.encode())
    token = TOKEN_RE.search(r.get_data(as_text=True)).group(1)
    admin = person_browser("admin")
    r2 = admin.post("/payers/import/confirm", {"token": token})
    assert r2.status_code == 302 and r2.headers["Location"].endswith("/payers/import")
    assert count(firm, Payer) == 0
    with tenant_scope(firm.tenant.id):
        db.session.execute(update(ImportStash).values(data=b"name\nSomething else\n"))
        db.session.commit()
    r3 = owner_browser.post("/payers/import/confirm", {"token": token})
    assert r3.status_code == 302 and count(firm, Payer) == 0


def test_names_match_existing_payers_ignoring_case(firm, owner_browser):
    add_payer(firm, name="Existing Payer")
    r = _upload(owner_browser, b"name\nNew One\nexisting   PAYER\n")
    assert r.status_code == 200
    _confirm(owner_browser, r)
    assert set(_payers(firm)) == {"Existing Payer", "New One"}


def test_advocates_and_viewers_cannot_import(person_browser):
    for role in ("advocate", "viewer"):
        b = person_browser(role)
        assert b.get("/payers/import").status_code == 403
        assert _upload(b, GOOD.encode()).status_code == 403


def test_the_import_service_refuses_a_preview_with_any_error(firm):
    from advocate.payers import importer

    preview = importer.parse(b"name,provider_phone\nGood,800-555-0100\nBad,12\n")
    assert preview.valid_rows == 1 and not preview.ok
    with tenant_scope(firm.tenant.id):
        try:
            importer.import_payers(preview, tenant_id=firm.tenant.id, actor_id=None)
        except importer.ImportRefused as exc:
            assert exc.preview is preview
        else:
            raise AssertionError("an import with an error row went ahead")
        db.session.rollback()
    assert count(firm, Payer) == 0


def test_a_failure_part_way_through_saves_no_row(firm, owner_browser, monkeypatch):
    from advocate.payers import importer

    r = _upload(owner_browser, GOOD.encode())
    real_audit, calls = importer.audit, []

    def failing_audit(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:  # after the first payer is flushed
            raise RuntimeError("database went away")
        return real_audit(*args, **kwargs)

    monkeypatch.setattr(importer, "audit", failing_audit)
    try:
        _confirm(owner_browser, r)
    except RuntimeError:
        pass
    assert calls[:1] == ["payer.created"]
    db.session.rollback()
    assert count(firm, Payer) == 0
    assert count(firm, PayerContact) == 0
