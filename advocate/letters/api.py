"""Letters over the JSON API: generate one for a case from a template, create
a batch from caseload filters, poll its progress, download its letters.
A generated letter is filed as a case document (download it through
``/documents/<id>/link``)."""

from __future__ import annotations

from typing import Literal

from flask import g, jsonify, request, send_file
from pydantic import Field
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import Param, body, describe
from advocate.api.pagination import CURSOR_PARAMS, cursor_page
from advocate.api.schema import Body, CursorPage, Id, Out
from advocate.auth.access import STAFF, WORKERS, roles
from advocate.cases.models import Case
from advocate.extensions import db
from advocate.letters import services, tasks
from advocate.letters.models import Letter, LetterBatch
from advocate.letters.types import LETTER_TYPES
from advocate.links import external_url
from advocate.practices.services import tenant_today

LETTER_TYPE_KEYS = tuple(LETTER_TYPES)


class LetterIn(Body):
    """Which letter: a type, with the system template or one of the firm's template versions."""

    letter_type: Literal[LETTER_TYPE_KEYS]
    template_version_id: Id | None = None


class BatchIn(LetterIn):
    """A batch: one letter per case the caseload filters choose."""

    filters: dict[str, list[str] | str] = Field(
        default_factory=dict,
        description="Caseload filters, as on the case list: q, status, payer_id, practice_id, assignee_id, opened_from, ...",
    )


class LetterOut(Out):
    """A generated letter (its PDF is the case document ``document_id``)."""

    id: int
    case_id: int
    letter_type: str
    template_version_id: int | None
    status: str
    document_id: int | None
    size_bytes: int | None
    rendered_at: str | None


class Progress(Out):
    status: str
    total: int
    done: int
    failed: int
    cancelled: int
    remaining: int
    rendering: int
    processed: int
    pct: float
    eta: int | None
    finished: bool


class BatchOut(Out):
    """A letter batch and its progress (counted from its letters); poll until ``progress.finished``."""

    id: int
    letter_type: str
    template_version_id: int | None
    letter_date: str
    total: int
    status: str
    created_at: str | None
    progress: Progress
    downloads: dict[str, str]


def letter_json(x: Letter) -> dict:
    return {
        "id": x.id,
        "case_id": x.case_id,
        "letter_type": x.letter_type,
        "template_version_id": x.template_version_id,
        "status": x.status,
        "document_id": x.document_id,
        "size_bytes": x.size_bytes,
        "rendered_at": x.rendered_at.isoformat() if x.rendered_at else None,
    }


def batch_json(b: LetterBatch) -> dict:
    return {
        "id": b.id,
        "letter_type": b.letter_type,
        "template_version_id": b.template_version_id,
        "letter_date": b.letter_date.isoformat(),
        "total": b.total,
        "status": b.status,
        "created_at": b.created_at.isoformat() if b.created_at else None,
        "progress": services.progress(b),
        "downloads": {
            fmt: external_url("api.letter_batches_download", batch_id=b.id, format=fmt)
            for fmt in ("zip", "pdf")
        },
    }


def _problems(err: services.LetterError, status: int = 422):
    api_error(
        status,
        str(err) or "the letter cannot be made",
        [{"field": f, "message": m} for f, m in err.problems],
    )


def _batch_or_404(batch_id: int) -> LetterBatch:
    b = db.session.get(LetterBatch, batch_id)
    if b is None:
        api_error(404, "no such batch")
    return b


@bp.route("/cases/<int:case_id>/letters", methods=["GET"])
@roles(STAFF)
@describe(query=CURSOR_PARAMS, responses={200: CursorPage[LetterOut]})
def case_letters_list(case_id: int):
    """A case's letters, newest first."""
    if db.session.get(Case, case_id) is None:
        api_error(404, "no such case")
    rows, nxt = cursor_page(
        select(Letter).where(Letter.case_id == case_id),
        [(Letter.id, "desc")],
        lambda x: (x.id,),
    )
    items = [letter_json(x) for x in rows]
    db.session.commit()
    return jsonify(items=items, next=nxt)


@bp.route("/cases/<int:case_id>/letters", methods=["POST"])
@roles(WORKERS)
@describe(body=LetterIn, responses={201: LetterOut})
def case_letters_create(case_id: int):
    """Generate one letter for a case now; it is filed in the case's documents."""
    case = db.session.get(Case, case_id)
    if case is None:
        api_error(404, "no such case")
    data: LetterIn = body()
    try:
        letter = services.generate_letter(
            tenant=g.tenant,
            actor=g.actor,
            case=case,
            letter_type_key=data.letter_type,
            template_version_id=data.template_version_id,
            today=tenant_today(g.tenant),
        )
    except services.LetterError as err:
        db.session.rollback()
        _problems(err)
    out = letter_json(letter)
    db.session.commit()
    return jsonify(out), 201


@bp.route("/letter-batches", methods=["GET"])
@roles(STAFF)
@describe(query=CURSOR_PARAMS, responses={200: CursorPage[BatchOut]})
def letter_batches_list():
    """The firm's letter batches, newest first."""
    rows, nxt = cursor_page(select(LetterBatch), [(LetterBatch.id, "desc")], lambda b: (b.id,))
    items = [batch_json(b) for b in rows]
    db.session.commit()
    return jsonify(items=items, next=nxt)


@bp.route("/letter-batches", methods=["POST"])
@roles(WORKERS)
@describe(body=BatchIn, responses={202: BatchOut})
def letter_batches_create():
    """Create a batch from caseload filters and start rendering it (poll its progress)."""
    from advocate.cases.queries import FILTER_PARAMS

    data: BatchIn = body()
    unknown = sorted(set(data.filters) - set(FILTER_PARAMS))
    if unknown:
        api_error(
            422,
            "validation failed",
            [{"field": f"filters.{k}", "message": "is not a caseload filter"} for k in unknown],
        )
    args = MultiDict(
        [
            (k, v)
            for k, vs in data.filters.items()
            for v in ([vs] if isinstance(vs, str) else vs)
            if v != ""
        ]
    )
    try:
        batch = services.create_batch(
            tenant=g.tenant,
            actor=g.actor,
            filter_args=args,
            letter_type_key=data.letter_type,
            template_version_id=data.template_version_id,
            today=tenant_today(g.tenant),
        )
    except services.LetterError as err:
        db.session.rollback()
        _problems(err)
    db.session.commit()
    tid, bid, total = g.tenant.id, batch.id, batch.total
    tasks.start_batch(tid, bid, total)
    out = batch_json(db.session.get(LetterBatch, bid))
    db.session.commit()
    return jsonify(out), 202


@bp.route("/letter-batches/<int:batch_id>", methods=["GET"])
@roles(STAFF)
@describe(responses={200: BatchOut})
def letter_batches_get(batch_id: int):
    """A batch with its progress (poll this)."""
    out = batch_json(_batch_or_404(batch_id))
    db.session.commit()
    return jsonify(out)


@bp.route("/letter-batches/<int:batch_id>/download", methods=["GET"])
@roles(STAFF)
@describe(
    query=[
        Param(
            "format",
            "zip (every letter) or pdf (one merged PDF for printing).",
            enum=["zip", "pdf"],
        )
    ],
    responses={200: "The letters."},
    binary={200: "application/zip"},
)
def letter_batches_download(batch_id: int):
    """Download the batch's generated letters as a ZIP or one merged PDF."""
    b = _batch_or_404(batch_id)
    fmt = request.args.get("format", "zip")
    if fmt not in ("zip", "pdf"):
        api_error(422, "invalid query parameter", [{"field": "format", "message": "zip or pdf"}])
    try:
        export = (
            services.zip_batch(b, actor=g.actor)
            if fmt == "zip"
            else services.merged_pdf(b, actor=g.actor)
        )
    except services.LetterError as err:
        db.session.rollback()
        _problems(err)
    db.session.commit()
    return send_file(
        export.file,
        mimetype="application/zip" if fmt == "zip" else "application/pdf",
        as_attachment=True,
        download_name=f"letters-batch-{b.id}-{b.letter_type}.{fmt}",
        max_age=0,
    )


class TemplateOut(Out):
    """A letter a case can be sent: a type's system template (``template_version_id``
    null) or one of the firm's templates (its current version)."""

    letter_type: str
    letter_type_label: str
    name: str
    template_id: int | None
    template_version_id: int | None


@bp.route("/letter-templates", methods=["GET"])
@roles(STAFF)
@describe(responses={200: CursorPage[TemplateOut]})
def letter_templates_list():
    """The letters the firm can generate: each type's system template, then the firm's templates."""
    items = [
        {
            "letter_type": lt.key,
            "letter_type_label": lt.label,
            "name": f"{lt.label} (system template)",
            "template_id": None,
            "template_version_id": None,
        }
        for lt in LETTER_TYPES.values()
    ]
    for t in db.session.scalars(services.templates_query()):
        if t.current_version_id and t.letter_type in LETTER_TYPES:
            items.append(
                {
                    "letter_type": t.letter_type,
                    "letter_type_label": LETTER_TYPES[t.letter_type].label,
                    "name": t.name,
                    "template_id": t.id,
                    "template_version_id": t.current_version_id,
                }
            )
    db.session.commit()
    return jsonify(items=items, next=None)
