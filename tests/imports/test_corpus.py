"""The corpus (tests/imports/corpus, see SOURCES.md): public sample 835s and our
own files for every shape payers send.  Each expectation is computed from the
file's own segments by the small reader below, independently of the importer:
transactions (ST), claims (CLP), total paid (sum of CLP04), provider adjustments
(PLB amounts), and whether BPR02 = sum(CLP04) - sum(PLB)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from advocate.imports.era import parse_835

CORPUS = Path(__file__).parent / "corpus"

# Files the guide (or the interchange's own delimiters) does not allow, and why.
INVALID = {
    "lfh_cob_contractual_adjustment.835": "BPR16",  # date in BPR15; SVC01 uses '>' not ISA16 ':'
    "lfh_demo_broken.835": "'CAS_CO' is not an 835 segment",
    "lfh_managed_care.835": "'20002316' is not a valid date",  # BPR16 month 23
    "lfh_secondary_payment.835": "BPR16",
    "lfh_tertiary_payment.835": "BPR16",
    "own_invalid_nm1_in_service_loop.835": "NM1 segment is not allowed in loop 2110",
    "own_invalid_zip.835": "this is a ZIP archive, not an X12 file",
    "own_invalid_utf16.835": "this file is UTF-16 text",
}


def _segments(data: bytes) -> list[list[str]]:
    """The file's segments by the plainest reading: text with every line break, BOM
    and Ctrl-Z removed, delimiters from the ISA, split, blanks trimmed."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    text = text.replace("\ufeff", "").replace("\x1a", "").replace("\r", "").replace("\n", "")
    start = text.index("ISA")
    element = text[start + 3]
    isa = text[start:].split(element)
    terminator = isa[16][1]
    return [s.strip(" \t").split(element) for s in text[start:].split(terminator) if s.strip()]


def _expected(data: bytes) -> dict:
    segs = _segments(data)
    paid = [Decimal(s[4]) for s in segs if s[0] == "CLP"]
    plb = [Decimal(s[i]) for s in segs if s[0] == "PLB" for i in range(4, len(s), 2) if s[i]]
    bprs = [Decimal(s[2]) for s in segs if s[0] == "BPR"]
    return {
        "transactions": sum(1 for s in segs if s[0] == "ST"),
        "claims": len(paid),
        "paid": sum(paid, Decimal(0)),
        "plb": sum(plb, Decimal(0)),
        "balanced": sum(bprs, Decimal(0)) == sum(paid, Decimal(0)) - sum(plb, Decimal(0)),
        "reversals": sum(1 for s in segs if s[0] == "CLP" and s[2] == "22"),
    }


VALID = sorted(p.name for p in CORPUS.glob("*.835") if p.name not in INVALID)


def test_the_corpus_has_its_sources_and_every_shape():
    names = {p.name for p in CORPUS.glob("*.835")}
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    for name in names:
        assert name in sources, f"{name} is not described in SOURCES.md"
    assert len(VALID) >= 12 and len(INVALID) >= 6


@pytest.mark.parametrize("name", VALID)
def test_valid_corpus_files_import_with_what_their_segments_say(name):
    data = (CORPUS / name).read_bytes()
    want = _expected(data)
    result = parse_835(data)
    assert result.errors == ()
    assert len(result.remittances) == want["transactions"]
    claims = list(result.claims)
    assert len(claims) == want["claims"]
    assert sum((c.paid for c in claims), Decimal(0)) == want["paid"]
    assert sum(c.is_reversal for c in claims) == want["reversals"]
    plb = sum((p.total for r in result.remittances for p in r.provider_adjustments), Decimal(0))
    assert plb == want["plb"]
    # A file that does not reconcile imports, with a BPR02 warning (and only then).
    assert bool(result.warnings) is (not want["balanced"])


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_corpus_files_are_refused_with_the_reason(name):
    result = parse_835((CORPUS / name).read_bytes())
    assert result.errors
    assert INVALID[name] in result.report()
    assert "\\x" not in result.report()


def test_the_real_world_file_has_the_shape_it_claims():
    data = (CORPUS / "own_realworld_19tx_707_claims_wrapped.835").read_bytes()
    want = _expected(data)
    assert want["transactions"] == 19 and want["claims"] >= 700
    assert want["reversals"] > 0 and want["plb"] != 0
    lines = data.decode("utf-8").split("\r\n")
    assert {len(line) for line in lines[:-2]} == {80}  # wrapped at a fixed width (characters)
    result = parse_835(data)
    assert (result.wrapped_width, result.encoding) == (80, "utf-8")
    assert any(c.patient.last_name == "MUÑOZ" for c in result.claims)


def _post(setup, data: bytes):
    from advocate.extensions import db
    from advocate.imports import posting
    from tenants import tenant_scope

    with tenant_scope(setup.tenant_id):
        summary = posting.import_835(data, tenant_id=setup.tenant_id, actor_id=setup.actor_id)
        db.session.commit()
    return summary


def test_the_real_world_file_posts_every_claim_once(setup):
    from advocate.imports.models import RemittanceAdjustment, RemittanceClaim

    data = (CORPUS / "own_realworld_19tx_707_claims_wrapped.835").read_bytes()
    want = _expected(data)
    summary = _post(setup, data)
    assert summary.transactions == want["transactions"] and summary.claims == want["claims"]
    assert summary.matched + summary.created + summary.unmatched == want["claims"]
    assert summary.created > 0  # the payee NPI and the fixture payer are the firm's
    assert setup.count(RemittanceClaim) == want["claims"]
    plb_items = sum(
        1 for s in _segments(data) if s[0] == "PLB" for i in range(3, len(s), 2) if s[i]
    )
    assert setup.count(RemittanceAdjustment) == plb_items
    again = _post(setup, data)
    assert again.duplicate and setup.count(RemittanceClaim) == want["claims"]


def test_institutional_claims_open_cases_for_the_facility(setup):
    from advocate.cases.models import Case
    from tests.factories import make_practice

    make_practice(setup.tenant, name="Regional Hospital", npi="1558367922", default_pos="21")
    data = (CORPUS / "own_institutional_drg_claim_level.835").read_bytes()
    summary = _post(setup, data)
    assert (summary.created, summary.unmatched) == (_expected(data)["claims"], 0)
    cases = setup.rows(Case, order_by=Case.id)
    assert [c.payer_claim_number for c in cases] == ["CN-9", "CN-10"]
    assert {c.place_of_service for c in cases} == {"21"}  # CLP08 11/13 is no place of service
