"""Letters: templates (copy, edit as versions, check, preview), one letter for
a case, and bulk batches (create, progress, cancel, retry, download).

Services take explicit tenant/actor arguments, flush and never commit.
Rendering a batch is in `advocate.letters.tasks` (RQ jobs, inline without Redis).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, update

from advocate.audit.services import audit
from advocate.db import utcnow
from advocate.documents.models import Document
from advocate.extensions import db
from advocate.letters import document as doc
from advocate.letters.models import (
    BATCH_CANCELLED,
    BATCH_FINISHED,
    BATCH_RUNNING,
    CANCELLED,
    DONE,
    FAILED,
    PENDING,
    RENDERING,
    Letter,
    LetterBatch,
    LetterTemplate,
    LetterTemplateVersion,
)
from advocate.letters.render import render_pdf, render_png
from advocate.letters.sandbox import TemplateProblem
from advocate.letters.types import LETTER_TYPES, LetterType, letter_type
from advocate.ownership import ForeignIdError, require_own
from advocate.storage import Storage, get_storage, safe_filename, tenant_key

MAX_BATCH_LETTERS = 20_000
MAX_MERGED_LETTERS = 2_000
NAME_MAX = 120


class LetterError(ValueError):
    """A refusal: (field, message) pairs naming what is wrong."""

    def __init__(self, problems: list[tuple[str, str]] | str, message: str | None = None):
        if isinstance(problems, str):
            problems = [(problems, message or "")]
        self.problems = problems
        super().__init__("; ".join(m for _f, m in problems))


# --------------------------------------------------------------------------- settings


def setting(name: str, default: int | str):
    """LETTERS_* from the app config, else the environment (RQ workers build
    their app from the environment), else the default."""
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name)
    if value is None or value == "":
        return default
    return type(default)(value)


# --------------------------------------------------------------------------- templates


def templates_query(letter_type_key: str | None = None):
    q = select(LetterTemplate).where(LetterTemplate.is_archived.is_(False))
    if letter_type_key:
        q = q.where(LetterTemplate.letter_type == letter_type_key)
    return q.order_by(LetterTemplate.letter_type, LetterTemplate.name, LetterTemplate.id)


def current_version(template: LetterTemplate) -> LetterTemplateVersion | None:
    if template.current_version_id is None:
        return None
    return db.session.get(LetterTemplateVersion, template.current_version_id)


def _check_name(name: str | None, *, exclude_id: int | None = None) -> tuple[str, list]:
    name = " ".join((name or "").split())
    problems = []
    if not name:
        problems.append(("name", "name: give the template a name"))
    elif len(name) > NAME_MAX:
        problems.append(("name", f"name: at most {NAME_MAX} characters"))
    else:
        q = select(LetterTemplate.id).where(func.lower(LetterTemplate.name) == name.lower())
        if exclude_id:
            q = q.where(LetterTemplate.id != exclude_id)
        if db.session.scalar(q) is not None:
            problems.append(("name", f"name: the firm already has a template called “{name}”"))
    return name, problems


def copy_template(
    *,
    tenant_id: int,
    actor: Any,
    name: str,
    letter_type_key: str | None = None,
    source: LetterTemplate | None = None,
) -> LetterTemplate:
    """A new firm template: a copy of the system template of a letter type,
    or of another firm template's current text. Version 1 is the copy."""
    if source is not None:
        ltype = letter_type(source.letter_type)
        src = current_version(source)
        subject, body = (src.subject, src.body) if src else (ltype.subject, ltype.body)
    else:
        if letter_type_key not in LETTER_TYPES:
            raise LetterError("letter_type", "letter_type: choose a letter type")
        ltype = letter_type(letter_type_key)
        subject, body = ltype.subject, ltype.body
    name, problems = _check_name(name)
    if problems:
        raise LetterError(problems)
    template = LetterTemplate(
        tenant_id=tenant_id,
        letter_type=ltype.key,
        name=name,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(template)
    db.session.flush()
    save_version(template, actor=actor, subject=subject, body=body, note="Copied")
    audit(
        "letter_template.created",
        template,
        user_id=getattr(actor, "id", None),
        details={"letter_type": ltype.key, "source_template_id": source.id if source else None},
    )
    return template


def check_text(letter_type_key: str, subject: str, body: str) -> list[tuple[str, str]]:
    ltype = letter_type(letter_type_key)
    problems = []
    if not (subject or "").strip():
        problems.append(("subject", "subject: the letter needs a subject line"))
    if not (body or "").strip():
        problems.append(("body", "body: the letter needs a body"))
    if len(subject or "") > 300:
        problems.append(("subject", "subject: at most 300 characters"))
    if problems:
        return problems
    return doc.check_source(subject, body, ltype)


def save_version(
    template: LetterTemplate,
    *,
    actor: Any,
    subject: str,
    body: str,
    note: str | None = None,
    name: str | None = None,
) -> LetterTemplateVersion:
    """Check the text (unknown merge fields are refused, named) and save it as
    the template's next version. Nothing is written when anything is wrong."""
    subject = (subject or "").replace("\r\n", "\n").strip()
    body = (body or "").replace("\r\n", "\n").strip() + "\n"
    problems = check_text(template.letter_type, subject, body)
    new_name = None
    if name is not None and " ".join(name.split()) != template.name:
        new_name, name_problems = _check_name(name, exclude_id=template.id)
        problems = name_problems + problems
    if problems:
        raise LetterError(problems)
    last = db.session.scalar(
        select(func.max(LetterTemplateVersion.number)).where(
            LetterTemplateVersion.template_id == template.id
        )
    )
    version = LetterTemplateVersion(
        tenant_id=template.tenant_id,
        template_id=template.id,
        number=(last or 0) + 1,
        subject=subject,
        body=body,
        note=(note or "").strip()[:300] or None,
        created_by_id=getattr(actor, "id", None),
        created_at=utcnow(),
    )
    db.session.add(version)
    db.session.flush()
    template.current_version_id = version.id
    if new_name:
        template.name = new_name
    db.session.flush()
    audit(
        "letter_template.version_saved",
        template,
        user_id=getattr(actor, "id", None),
        details={"version": version.number},
    )
    return version


def versions_query(template: LetterTemplate):
    return (
        select(LetterTemplateVersion)
        .where(LetterTemplateVersion.template_id == template.id)
        .order_by(LetterTemplateVersion.number.desc())
    )


def template_choices(letter_type_key: str) -> list[tuple[str, str]]:
    """("", system template) then the firm's templates of that type."""
    choices = [("", "System template")]
    for t in db.session.scalars(templates_query(letter_type_key)):
        if t.current_version_id:
            choices.append((str(t.current_version_id), t.name))
    return choices


def resolve_text(
    letter_type_key: str, template_version_id: int | None
) -> tuple[str, str, int | None]:
    """(subject, body, version id) of the system template or a firm version
    of the same letter type in the firm in scope."""
    ltype = letter_type(letter_type_key)
    if not template_version_id:
        return ltype.subject, ltype.body, None
    try:
        version = require_own(
            LetterTemplateVersion,
            template_version_id,
            field="template_version_id",
            label="template",
        )
    except ForeignIdError:
        version = None
    if version is None or version.template.letter_type != ltype.key:
        raise LetterError(
            "template_version_id",
            "template: choose one of the firm's templates of this letter type",
        )
    return version.subject, version.body, version.id


# --------------------------------------------------------------------------- one letter


def sender_of(user) -> doc.Sender:
    if user is None:
        return doc.Sender(name="")
    return doc.Sender(name=user.name or "", email=user.email or "")


def tenant_snapshot(tenant) -> SimpleNamespace:
    """The tenant's letterhead fields as plain values (no lazy loads later)."""
    cols = (
        "id",
        "name",
        "letterhead_name",
        "letterhead_tagline",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "zip",
        "phone",
        "fax",
        "timezone",
    )
    return SimpleNamespace(**{c: getattr(tenant, c) for c in cols})


def build_for_case(
    case, ltype: LetterType, *, subject: str, body: str, tenant, sender, today: date
):
    data = doc.load_cases([case.id], ltype, today)
    loaded = data.cases.get(case.id)
    if loaded is None:
        raise LetterError("case", "case: not found")
    try:
        return doc.build_letter(
            loaded,
            ltype,
            subject_tpl=subject,
            body_tpl=body,
            tenant=tenant,
            sender=sender,
            today=today,
            data=data,
        )
    except doc.LetterRefused as err:
        raise LetterError("letter_type", str(err)) from None
    except TemplateProblem as err:
        raise LetterError(err.problems) from None


def preview(
    case,
    letter_type_key: str,
    *,
    subject: str,
    body: str,
    tenant,
    sender,
    today: date,
    fmt: str = "pdf",
) -> bytes:
    """The letter as it would print for a real case (nothing saved)."""
    problems = check_text(letter_type_key, subject, body)
    if problems:
        raise LetterError(problems)
    built = build_for_case(
        case,
        letter_type(letter_type_key),
        subject=subject,
        body=body,
        tenant=tenant,
        sender=sender,
        today=today,
    )
    return render_png(built.document) if fmt == "png" else render_pdf(built.document)


def letter_key(tenant_id: int, letter: Letter) -> str:
    """Deterministic: a letter always goes to the same object."""
    folder = f"batch-{letter.batch_id}" if letter.batch_id else "single"
    return tenant_key(tenant_id, "letters", folder, f"letter-{letter.id}.pdf")


def letter_filename(ltype: LetterType, case_reference: str) -> str:
    return safe_filename(
        f"{ltype.label} {case_reference}.pdf".replace(" / ", " - ").replace("/", "-")
    )


def file_letter(
    *,
    tenant_id: int,
    letter_id: int,
    case_id: int,
    ltype: LetterType,
    case_reference: str,
    key: str,
    pdf: bytes,
    actor_id: int | None,
) -> Document:
    """The case document and timeline entry of a rendered letter (flushed)."""
    from advocate.cases.models import CaseEvent

    document = Document(
        tenant_id=tenant_id,
        owner_type="case",
        owner_id=case_id,
        category=ltype.category,
        filename=letter_filename(ltype, case_reference),
        note=f"Generated letter {letter_id}",
        kind="pdf",
        content_type="application/pdf",
        size_bytes=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
        storage_key=key,
        uploaded_by_id=actor_id,
    )
    db.session.add(document)
    db.session.add(
        CaseEvent(
            tenant_id=tenant_id,
            case_id=case_id,
            kind="letter",
            summary=f"{ltype.label} generated",
            actor_id=actor_id,
            data={"letter_id": letter_id, "letter_type": ltype.key},
        )
    )
    return document


def generate_letter(
    *,
    tenant,
    actor: Any,
    case,
    letter_type_key: str,
    template_version_id: int | None = None,
    today: date,
    storage: Storage | None = None,
) -> Letter:
    """Render one letter for a case now, store it as a case document and put
    it on the timeline. Raises LetterError (why not) with nothing saved."""
    if letter_type_key not in LETTER_TYPES:
        raise LetterError("letter_type", "letter_type: choose a letter type")
    ltype = letter_type(letter_type_key)
    subject, body, version_id = resolve_text(letter_type_key, template_version_id)
    built = build_for_case(
        case,
        ltype,
        subject=subject,
        body=body,
        tenant=tenant_snapshot(tenant),
        sender=sender_of(actor),
        today=today,
    )
    pdf = render_pdf(built.document)
    letter = Letter(
        tenant_id=tenant.id,
        case_id=case.id,
        letter_type=ltype.key,
        template_version_id=version_id,
        status=RENDERING,
        attempts=1,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(letter)
    db.session.flush()
    storage = storage or get_storage()
    key = letter_key(tenant.id, letter)
    storage.put(key, io.BytesIO(pdf), content_type="application/pdf")
    try:
        document = file_letter(
            tenant_id=tenant.id,
            letter_id=letter.id,
            case_id=case.id,
            ltype=ltype,
            case_reference=case.reference,
            key=key,
            pdf=pdf,
            actor_id=getattr(actor, "id", None),
        )
        db.session.flush()
        letter.status, letter.storage_key, letter.size_bytes = DONE, key, len(pdf)
        letter.document_id, letter.rendered_at = document.id, utcnow()
        db.session.flush()
        audit(
            "letter.generated",
            letter,
            user_id=getattr(actor, "id", None),
            is_phi=True,
            details={"case_id": case.id, "letter_type": ltype.key, "document_id": document.id},
        )
    except BaseException:
        from advocate.documents.services import discard_object

        discard_object(key, storage)
        raise
    letter.warnings = built.warnings  # not stored: for the person generating it
    return letter


def case_letters(case_id: int, limit: int = 50) -> list[Letter]:
    return list(
        db.session.scalars(
            select(Letter)
            .where(Letter.case_id == case_id, Letter.status == DONE)
            .order_by(Letter.id.desc())
            .limit(limit)
        )
    )


# --------------------------------------------------------------------------- batches


def create_batch(
    *,
    tenant,
    actor: Any,
    filter_args,
    letter_type_key: str,
    template_version_id: int | None,
    today: date,
) -> LetterBatch:
    """One batch and one pending letter per case the caseload filter
    chooses, in the caller's one transaction. Enqueue after the commit
    (`advocate.letters.tasks.start_batch`)."""
    from advocate.cases.models import Case
    from advocate.cases.queries import case_conditions, filter_query_string, parse_case_filter

    problems: list[tuple[str, str]] = []
    if letter_type_key not in LETTER_TYPES:
        problems.append(("letter_type", "letter_type: choose a letter type"))
    f, errors = parse_case_filter(
        filter_args, user_id=getattr(actor, "id", None), tenant=tenant, today=today
    )
    problems += [(e.field, f"{e.field}: {e.message}") for e in errors]
    if problems:
        raise LetterError(problems)
    _s, _b, version_id = resolve_text(letter_type_key, template_version_id)
    case_ids = list(
        db.session.scalars(select(Case.id).where(*case_conditions(f)).order_by(Case.id))
    )
    if not case_ids:
        raise LetterError("filter", "filter: no cases match these filters")
    if len(case_ids) > MAX_BATCH_LETTERS:
        raise LetterError(
            "filter",
            f"filter: {len(case_ids):,} cases match; a batch takes at most "
            f"{MAX_BATCH_LETTERS:,}: narrow the filters",
        )
    batch = LetterBatch(
        tenant_id=tenant.id,
        letter_type=letter_type_key,
        template_version_id=version_id,
        filter_query=filter_query_string(filter_args, keep_view=False)[:2000],
        letter_date=today,
        total=len(case_ids),
        status=BATCH_RUNNING,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(batch)
    db.session.flush()
    now = utcnow()
    rows = [
        {
            "tenant_id": tenant.id,
            "batch_id": batch.id,
            "case_id": cid,
            "letter_type": letter_type_key,
            "template_version_id": version_id,
            "status": PENDING,
            "attempts": 0,
            "created_by_id": getattr(actor, "id", None),
            "created_at": now,
            "updated_at": now,
        }
        for cid in case_ids
    ]
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(Letter), rows[start : start + 2000])
    audit(
        "letter_batch.created",
        batch,
        user_id=getattr(actor, "id", None),
        details={
            "letter_type": letter_type_key,
            "letters": len(case_ids),
            "template_version_id": version_id,
        },
    )
    return batch


def status_counts(batch_id: int) -> dict[str, int]:
    counts = dict.fromkeys((PENDING, RENDERING, DONE, FAILED, CANCELLED), 0)
    for status, n in db.session.execute(
        select(Letter.status, func.count(Letter.id))
        .where(Letter.batch_id == batch_id)
        .group_by(Letter.status)
    ):
        counts[status] = n
    return counts


def progress(batch: LetterBatch, *, now: datetime | None = None) -> dict:
    """Counted from the letters' rows (RQ results expire): what the progress
    bar polls."""
    now = now or utcnow()
    c = status_counts(batch.id)
    total = sum(c.values())
    remaining = c[PENDING] + c[RENDERING]
    finished = remaining == 0 or (batch.status == BATCH_CANCELLED and c[RENDERING] == 0)
    eta = None
    started = batch.started_at
    if not finished and started is not None and c[DONE] + c[FAILED] > 0:
        elapsed = max((now - started).total_seconds(), 0.001)
        rate = (c[DONE] + c[FAILED]) / elapsed
        eta = round(remaining / rate) if rate > 0 else None
    processed = c[DONE] + c[FAILED] + c[CANCELLED]
    return {
        "status": "cancelled"
        if batch.status == BATCH_CANCELLED
        else ("finished" if finished else "running"),
        "total": total,
        "done": c[DONE],
        "failed": c[FAILED],
        "cancelled": c[CANCELLED],
        "remaining": remaining,
        "rendering": c[RENDERING],
        "processed": processed,
        "pct": round(100 * processed / total, 1) if total else 100.0,
        "eta": eta,
        "finished": finished,
    }


def cancel_batch(batch: LetterBatch, *, actor: Any) -> int:
    """Stop a batch: letters not yet started are cancelled (those being
    rendered finish). Returns how many were cancelled."""
    if batch.status == BATCH_CANCELLED:
        return 0
    result = db.session.execute(
        update(Letter)
        .where(Letter.batch_id == batch.id, Letter.status == PENDING)
        .values(status=CANCELLED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    batch.status, batch.cancelled_at = BATCH_CANCELLED, utcnow()
    db.session.flush()
    audit(
        "letter_batch.cancelled",
        batch,
        user_id=getattr(actor, "id", None),
        details={"cancelled": result.rowcount},
    )
    return result.rowcount


def retry_failed(batch: LetterBatch, *, actor: Any) -> int:
    """Put the failed letters back in the queue (enqueue after the commit)."""
    result = db.session.execute(
        update(Letter)
        .where(Letter.batch_id == batch.id, Letter.status == FAILED)
        .values(
            status=PENDING, error=None, lease_token=None, leased_until=None, updated_at=utcnow()
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        batch.status, batch.finished_at, batch.cancelled_at = BATCH_RUNNING, None, None
        db.session.flush()
        audit(
            "letter_batch.retried",
            batch,
            user_id=getattr(actor, "id", None),
            details={"letters": result.rowcount},
        )
    return result.rowcount


def batch_letters_query(batch: LetterBatch, status: str | None = None):
    q = select(Letter).where(Letter.batch_id == batch.id).order_by(Letter.id)
    if status:
        q = q.where(Letter.status == status)
    return q


def case_numbers(case_ids) -> dict[int, str]:
    """Case id -> reference (C-000123), one query."""
    from advocate.cases.models import Case

    ids = list(set(case_ids))
    if not ids:
        return {}
    return {
        cid: f"C-{n:06d}"
        for cid, n in db.session.execute(select(Case.id, Case.number).where(Case.id.in_(ids)))
    }


def batches_query():
    return select(LetterBatch).order_by(LetterBatch.created_at.desc(), LetterBatch.id.desc())


@dataclass
class Export:
    file: Any  # a temporary file, positioned at 0
    count: int


def _done_letters(batch: LetterBatch):
    from advocate.cases.models import Case

    last = 0
    while True:
        rows = db.session.execute(
            select(Letter.id, Letter.storage_key, Case.number)
            .join(Case, Case.id == Letter.case_id)
            .where(Letter.batch_id == batch.id, Letter.status == DONE, Letter.id > last)
            .order_by(Letter.id)
            .limit(500)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def zip_batch(batch: LetterBatch, *, actor: Any, storage: Storage | None = None) -> Export:
    """Every generated letter of the batch in one ZIP (spooled to disk)."""
    storage = storage or get_storage()
    ltype = letter_type(batch.letter_type)
    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for row in _done_letters(batch):
            with storage.open(row.storage_key) as fh:
                name = f"C-{row.number:06d} {ltype.label} {row.id}.pdf".replace("/", "-")
                zf.writestr(name, fh.read())
            count += 1
    out.seek(0)
    audit(
        "letter_batch.downloaded",
        batch,
        user_id=getattr(actor, "id", None),
        is_phi=True,
        details={"format": "zip", "letters": count},
    )
    return Export(file=out, count=count)


def merged_pdf(batch: LetterBatch, *, actor: Any, storage: Storage | None = None) -> Export:
    """Every generated letter of the batch in one PDF, in case order of the
    batch, for printing."""
    from pypdf import PdfWriter

    storage = storage or get_storage()
    writer = PdfWriter()
    count = 0
    for row in _done_letters(batch):
        if count >= MAX_MERGED_LETTERS:
            raise LetterError(
                "batch",
                f"batch: a merged PDF holds at most {MAX_MERGED_LETTERS:,} "
                "letters; download the ZIP instead",
            )
        with storage.open(row.storage_key) as fh:
            writer.append(io.BytesIO(fh.read()))
        count += 1
    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    writer.write(out)
    out.seek(0)
    audit(
        "letter_batch.downloaded",
        batch,
        user_id=getattr(actor, "id", None),
        is_phi=True,
        details={"format": "merged_pdf", "letters": count},
    )
    return Export(file=out, count=count)


__all__ = [
    "BATCH_FINISHED", "LetterError", "cancel_batch", "copy_template", "create_batch", "generate_letter",
    "merged_pdf", "preview", "progress", "retry_failed", "save_version", "zip_batch",
]  # fmt: skip
