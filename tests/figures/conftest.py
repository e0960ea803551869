"""Issue 17 test data: the real CY2025 fee schedule rows for a few codes in
ZIP 10001 (as tests/rates/test_benchmark.py cuts them), letter storage per
test, API tokens, and reading figures off every surface."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from advocate.auth.models import ApiToken, new_token, token_hash
from advocate.extensions import db
from tenants import tenant_scope

DATA = Path(__file__).resolve().parents[2] / "advocate" / "rates" / "data" / "pfs2025"
CODES = ("99213", "20610", "27447", "43235", "43239", "43248", "43250", "45378", "45380", "45385")
ZIPS = ("10001",)


def load_pfs2025(tmp_path: Path) -> None:
    from advocate.rates.importer import import_pfs

    rvu_lines = (DATA / "PPRRVU2025_Oct.csv").read_text(encoding="latin-1").splitlines()
    head = rvu_lines[:10]
    body = [ln for ln in rvu_lines[10:] if ln.split(",", 1)[0] in CODES]
    (tmp_path / "PPRRVU2025_Oct.csv").write_text("\n".join(head + body) + "\n", encoding="latin-1")
    zips = [
        ln
        for ln in (DATA / "ZIP5_OCT2025.txt").read_text(encoding="latin-1").splitlines()
        if ln[2:7] in ZIPS
    ]
    (tmp_path / "ZIP5_OCT2025.txt").write_text("\n".join(zips) + "\n", encoding="latin-1")
    import_pfs(
        db.session,
        2025,
        rvu=tmp_path / "PPRRVU2025_Oct.csv",
        gpci=DATA / "GPCI2025.csv",
        zip5=tmp_path / "ZIP5_OCT2025.txt",
    )
    db.session.commit()


@pytest.fixture()
def pfs(db_app, tmp_path):
    load_pfs2025(tmp_path)
    return db_app


@pytest.fixture(autouse=True)
def fresh_storage(request, tmp_path):
    if "db_app" not in request.fixturenames:
        yield None
        return
    from advocate.storage import LocalStorage, set_storage

    app = request.getfixturevalue("db_app")
    storage = LocalStorage(tmp_path / "storage", secret_key=app.config["SECRET_KEY"])
    previous = set_storage(app, storage)
    yield storage
    set_storage(app, previous)


def api_headers(tenant_id: int, membership_id: int) -> dict:
    raw = new_token("adv_")
    with tenant_scope(tenant_id):
        db.session.add(
            ApiToken(
                membership_id=membership_id,
                name="figures",
                token_prefix=raw[:8],
                token_hash=token_hash(raw),
            )
        )
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def stored_letter_text(tenant_id: int, case_id: int) -> str:
    from sqlalchemy import select

    from advocate.letters.models import Letter
    from advocate.storage import get_storage

    with tenant_scope(tenant_id):
        letter = db.session.scalars(
            select(Letter).where(Letter.case_id == case_id).order_by(Letter.id.desc())
        ).first()
        key = letter.storage_key
    with get_storage().open(key) as fh:
        return pdf_text(fh.read())


_AMOUNT = re.compile(r'data-amount="{name}"[^>]*>\s*(\$[\d,]+\.\d\d|—)')


def page_amount(html: str, name: str) -> str:
    """The first figure shown in the element marked data-amount=name."""
    m = re.search(_AMOUNT.pattern.format(name=re.escape(name)), html)
    assert m, f"no data-amount={name} on the page"
    return m.group(1)


def money(value) -> str:
    return "—" if value is None else f"${value:,.2f}"
