"""Payer pages: the list, payer and contact forms, policy versions and their history."""

from __future__ import annotations

import re

from sqlalchemy import event, select

from advocate.extensions import db
from advocate.payers.models import Payer, PayerAppealLevel, PayerContact, PayerPolicy
from tenants import tenant_scope
from tests.factories import make_firm
from tests.payers.conftest import add_payer, add_policy, audit_actions, count

PAYER_FORM = {
    "name": "Northstar Health Plan",
    "edi_payer_id": "87726",
    "plan_types": ["erisa_self_funded", "medicare_advantage"],
    "provider_phone": "800.555.0142",
    "portal_url": "https://provider.northstar.example",
    "claims_address": "PO Box 30555\nSalt Lake City, UT 84130",
    "claims_fax": "",
    "appeals_address": "",
    "appeals_fax": "(800) 555-0144",
    "appeals_phone": "",
    "notes": "",
}


def _policy_form(**overrides) -> dict:
    data = {
        "plan_type": "erisa_self_funded",
        "effective_date": "2025-01-01",
        "end_date": "",
        "pricing_method": "medicare_percent",
        "pricing_percent": "140",
        "commercial_percentile": "",
        "benchmark_name": "",
        "timely_filing_days": "90",
        "is_sca_available": "yes",
        "sca_how_to_request": "Fax the SCA form to UM.",
        "nsa_notes": "",
        "limitations": "",
        "source_document": "OON policy 2025",
        "source_url": "https://provider.northstar.example/oon",
        "source_rep_name": "",
        "source_rep_date": "",
        "source_reference": "",
        "appeal_levels-0-name": "Level 1 appeal",
        "appeal_levels-0-window_days": "180",
        "appeal_levels-0-submit_to_address": "PO Box 30432",
        "appeal_levels-0-submit_to_fax": "800-555-0144",
        "appeal_levels-0-submit_to_portal_url": "",
        "appeal_levels-1-name": "",
        "appeal_levels-1-window_days": "",
        "appeal_levels-2-name": "External review",
        "appeal_levels-2-window_days": "120",
        "appeal_levels-3-name": "",
    }
    data.update(overrides)
    return data


# -- the list -----------------------------------------------------------------


def test_the_list_searches_by_name_or_payer_id_and_paginates(firm, owner_browser):
    for i in range(30):
        add_payer(
            firm,
            name=f"Payer {i:02d}",
            edi_payer_id=f"P{i:04d}",
            plan_types=["medicare_advantage"] if i % 10 == 0 else ["erisa_self_funded"],
        )
    add_payer(firm, name="Zenith 100% Care_Plan", edi_payer_id="ZEN01")
    first = owner_browser.get("/payers/").get_data(as_text=True)
    assert "Payer 00" in first and "Payer 24" in first and "Payer 25" not in first
    assert "Showing 1–25 of 31" in first
    second = owner_browser.get("/payers/?page=2").get_data(as_text=True)
    assert "Payer 25" in second and "Zenith" in second and "Payer 00" not in second

    found = owner_browser.get("/payers/?q=payer+1").get_data(as_text=True)
    assert re.findall(r">Payer (\d\d)</a>", found) == [f"{i}" for i in range(10, 20)]
    by_id = owner_browser.get("/payers/?q=zen01").get_data(as_text=True)
    assert "Zenith" in by_id and "Payer 01" not in by_id
    # LIKE wildcards in the search are literal.
    assert "Zenith" in owner_browser.get("/payers/?q=100%25").get_data(as_text=True)
    underscore = owner_browser.get("/payers/?q=_").get_data(as_text=True)
    assert "Zenith" in underscore and "Payer 01" not in underscore
    ma = owner_browser.get("/payers/?plan_type=medicare_advantage").get_data(as_text=True)
    assert re.findall(r">Payer (\d\d)</a>", ma) == ["00", "10", "20"]
    assert "No payers match" in owner_browser.get("/payers/?q=nothing-like-this").get_data(
        as_text=True
    )


def test_the_list_does_not_query_per_payer(firm, owner_browser):
    def queries_for(url):
        seen = []

        def count_it(*_args):
            seen.append(1)

        event.listen(db.engine, "before_cursor_execute", count_it)
        try:
            assert owner_browser.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count_it)
        return len(seen)

    pid = add_payer(firm, name="A payer")
    add_policy(firm, pid)
    few = queries_for("/payers/")
    for i in range(12):
        pid = add_payer(firm, name=f"More {i}")
        add_policy(firm, pid)
        db.session.add(PayerContact(tenant_id=firm.tenant.id, payer_id=pid, name=f"Rep {i}"))
    with tenant_scope(firm.tenant.id):
        db.session.commit()
    assert queries_for("/payers/") == few


def test_staff_read_but_only_managers_change_payers(firm, person_browser):
    pid = add_payer(firm)
    viewer = person_browser("viewer")
    assert viewer.get("/payers/").status_code == 200
    assert viewer.get(f"/payers/{pid}").status_code == 200
    assert viewer.get(f"/payers/{pid}/policies").status_code == 200
    assert viewer.get("/payers/new").status_code == 403
    assert viewer.post("/payers/new", PAYER_FORM).status_code == 403
    assert viewer.get(f"/payers/{pid}/contacts/new").status_code == 403
    advocate = person_browser("advocate")
    assert advocate.get(f"/payers/{pid}/edit").status_code == 403
    assert advocate.get(f"/payers/{pid}/policies/new").status_code == 403
    assert advocate.get(f"/payers/{pid}/contacts/new").status_code == 200


# -- payer forms ----------------------------------------------------------------


def test_adding_a_payer_normalises_numbers_and_audits(firm, owner_browser):
    r = owner_browser.post("/payers/new", PAYER_FORM)
    assert r.status_code == 302
    with tenant_scope(firm.tenant.id):
        payer = db.session.scalar(select(Payer))
        assert payer.provider_phone == "(800) 555-0142"
        assert payer.plan_types == ["erisa_self_funded", "medicare_advantage"]
        assert payer.claims_address == "PO Box 30555\nSalt Lake City, UT 84130"
        assert r.headers["Location"].endswith(f"/payers/{payer.id}")
    page = owner_browser.get(r.headers["Location"]).get_data(as_text=True)
    assert "Northstar Health Plan" in page and "(800) 555-0142" in page
    assert audit_actions(firm)[-1] == "payer.created"


def test_bad_payer_input_shows_every_field_error_and_saves_nothing(firm, owner_browser):
    events = len(audit_actions(firm))
    bad = dict(
        PAYER_FORM,
        name="",
        portal_url="javascript:alert(1)",
        provider_phone="555-0100",
        appeals_fax="call us",
        edi_payer_id="87 726",
    )
    r = owner_browser.post("/payers/new", bad)
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "Enter the payer&#39;s name." in body
    assert "must start with https:// or http://" in body
    assert "has 7 digits" in body
    assert "is not a phone number" in body
    assert "is not a payer ID" in body
    assert 'aria-invalid="true"' in body
    assert count(firm, Payer) == 0
    assert len(audit_actions(firm)) == events


def test_a_duplicate_name_is_refused(firm, owner_browser):
    add_payer(firm, name="Northstar Health Plan")
    r = owner_browser.post("/payers/new", dict(PAYER_FORM, name="  northstar   HEALTH plan "))
    assert r.status_code == 422
    assert "already has a payer named" in r.get_data(as_text=True)
    assert count(firm, Payer) == 1


def test_editing_with_bad_input_changes_nothing(firm, owner_browser):
    pid = add_payer(firm, name="Northstar Health Plan", portal_url="https://a.example")
    assert owner_browser.get(f"/payers/{pid}/edit").status_code == 200
    r = owner_browser.post(
        f"/payers/{pid}/edit", dict(PAYER_FORM, name="Renamed", portal_url="nope nope")
    )
    assert r.status_code == 422
    with tenant_scope(firm.tenant.id):
        payer = db.session.get(Payer, pid)
        assert (payer.name, payer.portal_url) == ("Northstar Health Plan", "https://a.example")
    r = owner_browser.post(f"/payers/{pid}/edit", dict(PAYER_FORM, name="Renamed"))
    assert r.status_code == 302
    with tenant_scope(firm.tenant.id):
        db.session.expire_all()
        assert db.session.get(Payer, pid).name == "Renamed"
    assert audit_actions(firm)[-1] == "payer.updated"


def test_contacts_are_added_edited_and_removed(firm, person_browser):
    pid = add_payer(firm)
    advocate = person_browser("advocate")
    r = advocate.post(f"/payers/{pid}/contacts/new", {"name": "", "direct_line": "12"})
    assert r.status_code == 422 and count(firm, PayerContact) == 0
    body = r.get_data(as_text=True)
    assert "Enter the contact&#39;s name." in body and "has 2 digits" in body
    r = advocate.post(
        f"/payers/{pid}/contacts/new",
        {
            "name": "Dana Whitfield",
            "role": "Provider relations",
            "direct_line": "8005550146 ext 22",
            "email": "dana@np.example",
        },
    )
    assert r.status_code == 302
    with tenant_scope(firm.tenant.id):
        cid = db.session.scalar(select(PayerContact.id))
        assert db.session.get(PayerContact, cid).direct_line == "(800) 555-0146 ext. 22"
    assert "Dana Whitfield" in advocate.get(f"/payers/{pid}").get_data(as_text=True)
    r = advocate.post(
        f"/payers/{pid}/contacts/{cid}/edit", {"name": "Dana W.", "email": "not-an-email"}
    )
    assert r.status_code == 422
    r = advocate.post(
        f"/payers/{pid}/contacts/{cid}/edit", {"name": "Dana W.", "role": "Supervisor"}
    )
    assert r.status_code == 302
    other_pid = add_payer(firm, name="Other payer")
    # A contact is reached only through its own payer.
    assert advocate.get(f"/payers/{other_pid}/contacts/{cid}/edit").status_code == 404
    assert advocate.post(f"/payers/{pid}/contacts/{cid}/delete", {}).status_code == 302
    assert count(firm, PayerContact) == 0
    assert [a for a in audit_actions(firm) if a.startswith("payer_contact.")] == [
        "payer_contact.created",
        "payer_contact.updated",
        "payer_contact.deleted",
    ]


# -- policies -------------------------------------------------------------------


def _value(body: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', body)
    m = tag and re.search(r'value="([^"]*)"', tag.group(0))
    return m.group(1) if m else None


def test_the_new_policy_form_starts_from_the_plan_types_defaults(firm, owner_browser):
    pid = add_payer(firm)
    body = owner_browser.get(f"/payers/{pid}/policies/new?plan_type=medicare_advantage").get_data(
        as_text=True
    )
    assert _value(body, "timely_filing_days") == "365"
    assert _value(body, "appeal_levels-0-name") == "Reconsideration"
    assert _value(body, "appeal_levels-0-window_days") == "180"
    body = owner_browser.get(f"/payers/{pid}/policies/new?plan_type=fully_insured").get_data(
        as_text=True
    )
    assert _value(body, "timely_filing_days") == "90"
    assert _value(body, "appeal_levels-1-name") == "External review"
    assert _value(body, "appeal_levels-1-window_days") == "120"
    # A new version of a plan type that has one starts from the latest version.
    add_policy(firm, pid, plan_type="fully_insured", timely_filing_days=180)
    body = owner_browser.get(f"/payers/{pid}/policies/new?plan_type=fully_insured").get_data(
        as_text=True
    )
    assert _value(body, "timely_filing_days") == "180"
    assert _value(body, "effective_date") == ""


def test_a_policy_version_is_saved_from_the_form_skipping_blank_rows(firm, owner_browser):
    pid = add_payer(firm)
    r = owner_browser.post(f"/payers/{pid}/policies/new", _policy_form())
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    with tenant_scope(firm.tenant.id):
        policy = db.session.scalar(select(PayerPolicy))
        assert policy.is_sca_available is True and str(policy.pricing_percent) == "140.00"
        assert [
            (a.level, a.name, a.window_days, a.submit_to_fax) for a in policy.appeal_levels
        ] == [(1, "Level 1 appeal", 180, "(800) 555-0144"), (2, "External review", 120, None)]
        assert r.headers["Location"].endswith(f"/payers/{pid}/policies/{policy.id}")
    page = owner_browser.get(r.headers["Location"]).get_data(as_text=True)
    assert "140% of Medicare" in page and "External review" in page


def test_bad_policy_input_is_shown_on_its_fields_and_nothing_saved(firm, owner_browser):
    pid = add_payer(firm)
    add_policy(firm, pid, effective_date="2025-01-01")
    before = len(audit_actions(firm))
    r = owner_browser.post(
        f"/payers/{pid}/policies/new",
        _policy_form(
            pricing_method="billed_percent",
            pricing_percent="150",
            source_url="not a url",
            **{"appeal_levels-2-window_days": "forever"},
        ),
    )
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "The percent must be between 0 and 100; got 150." in body
    assert "contains spaces" in body
    assert "The window must be a whole number." in body
    # The error sits on the third row, the one that was typed in (row 2 was blank).
    assert re.search(
        r'id="appeal_levels-2-window_days"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="appeal_levels-2-window_days"',
        body,
    )
    # The same effective date as an existing version.
    r = owner_browser.post(f"/payers/{pid}/policies/new", _policy_form())
    assert r.status_code == 422
    assert "already takes effect on 2025-01-01" in r.get_data(as_text=True)
    assert count(firm, PayerPolicy) == 1 and count(firm, PayerAppealLevel) == 1
    assert len(audit_actions(firm)) == before


def test_the_policy_page_shows_versions_and_the_history_of_changes(firm, owner_browser):
    pid = add_payer(firm)
    v1 = add_policy(firm, pid, effective_date="2024-01-01", pricing_percent="140")
    v2 = add_policy(firm, pid, effective_date="2025-07-01", pricing_percent="125")
    r = owner_browser.post(
        f"/payers/{pid}/policies/{v2}/edit",
        _policy_form(effective_date="2025-07-01", pricing_percent="130"),
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    page = owner_browser.get(f"/payers/{pid}/policies").get_data(as_text=True)
    assert "140% of Medicare" in page and "130% of Medicare" in page
    assert "Superseded" in page and "In effect" in page
    assert "Version changed" in page and "125.00 → 130.00" in page
    assert page.count("Version created") == 2
    assert "Fairpay Owner" in page  # who did it
    detail = owner_browser.get(f"/payers/{pid}/policies/{v1}").get_data(as_text=True)
    assert "Not the version in effect today" in detail
    # A plan type filter.
    assert "No policy recorded" in owner_browser.get(
        f"/payers/{pid}/policies?plan_type=medicaid_managed_care"
    ).get_data(as_text=True)
    # The payer page shows what is in effect today.
    assert "130% of Medicare" in owner_browser.get(f"/payers/{pid}").get_data(as_text=True)


def test_a_policy_is_reached_only_through_its_own_payer(firm, owner_browser):
    pid = add_payer(firm)
    other = add_payer(firm, name="Other")
    v = add_policy(firm, pid)
    assert owner_browser.get(f"/payers/{other}/policies/{v}").status_code == 404
    assert owner_browser.get(f"/payers/{other}/policies/{v}/edit").status_code == 404


def test_another_firms_payer_is_not_found(firm, owner_browser):
    other = make_firm("Other firm")
    pid = add_payer(other, name="Their payer")
    v = add_policy(other, pid)
    for url in (
        f"/payers/{pid}",
        f"/payers/{pid}/edit",
        f"/payers/{pid}/policies",
        f"/payers/{pid}/policies/{v}",
        f"/payers/{pid}/policies/new",
    ):
        assert owner_browser.get(url).status_code == 404, url
    assert owner_browser.post(f"/payers/{pid}/policies/{v}/edit", _policy_form()).status_code == 404
    add_payer(firm, name="Our payer")
    listing = owner_browser.get("/payers/").get_data(as_text=True)
    assert "Their payer" not in listing
    assert "Showing 1–1 of 1" in listing  # the count is the firm's own too


def test_a_source_document_attaches_to_a_policy_version(firm, owner_browser):
    import io

    pid = add_payer(firm)
    v = add_policy(firm, pid)
    page = owner_browser.get(f"/payers/{pid}/policies/{v}").get_data(as_text=True)
    assert "Source documents" in page
    r = owner_browser.post(
        f"/documents/upload?owner_type=payer_policy&owner_id={v}",
        {
            "category": "correspondence",
            "file": (io.BytesIO(b"Reimbursement policy bulletin\n"), "bulletin.txt"),
            "note": "2025 bulletin",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1000]
    assert "bulletin.txt" in owner_browser.get(f"/payers/{pid}/policies/{v}").get_data(as_text=True)
    assert "bulletin.txt" not in owner_browser.get(f"/payers/{pid}").get_data(as_text=True)
