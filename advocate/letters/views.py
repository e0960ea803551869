"""Letter templates, letters for a case, and bulk batches."""

from __future__ import annotations

import io

from flask import abort, flash, g, jsonify, redirect, render_template, request, send_file, url_for
from sqlalchemy import select

from advocate.audit.services import audit
from advocate.auth.access import MANAGERS, STAFF, WORKERS, is_safe_next, roles
from advocate.extensions import db
from advocate.letters import bp, services, tasks
from advocate.letters.fields import documented_fields
from advocate.letters.forms import CopyTemplateForm, EditTemplateForm, PreviewForm
from advocate.letters.models import (
    FAILED,
    PENDING,
    Letter,
    LetterBatch,
    LetterTemplate,
    LetterTemplateVersion,
)
from advocate.letters.types import LETTER_TYPES, letter_type
from advocate.ownership import ForeignIdError, require_own
from advocate.practices.services import tenant_today

PAGE = 25


# --------------------------------------------------------------------------- helpers


def _today():
    return tenant_today(g.tenant)


def _can_manage() -> bool:
    return g.membership.role in MANAGERS


def _can_work() -> bool:
    return g.membership.role in WORKERS


def _template_or_404(template_id: int) -> LetterTemplate:
    t = db.session.get(LetterTemplate, template_id)
    if t is None or t.is_archived:
        abort(404)
    return t


def _batch_or_404(batch_id: int) -> LetterBatch:
    b = db.session.get(LetterBatch, batch_id)
    if b is None:
        abort(404)
    return b


def _case_or_404(case_id: int):
    from advocate.cases.models import Case

    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    return case


def letter_options() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped options for "which letter": each type's system template and
    the firm's templates of that type (value "type" or "type:version id")."""
    firm = {}
    for t in db.session.scalars(services.templates_query()):
        if t.current_version_id:
            firm.setdefault(t.letter_type, []).append(
                (f"{t.letter_type}:{t.current_version_id}", t.name)
            )
    return [
        (lt.label, [(lt.key, f"{lt.label} (system template)"), *firm.get(lt.key, [])])
        for lt in LETTER_TYPES.values()
    ]


def _parse_choice(value: str | None) -> tuple[str, int | None]:
    value = (value or "").strip()
    key, _, version = value.partition(":")
    if key not in LETTER_TYPES:
        raise services.LetterError("template", "Choose the letter to generate.")
    if version and not (version.isascii() and version.isdigit()):
        raise services.LetterError("template", "Choose the letter to generate.")
    return key, int(version) if version else None


def _flash_problems(err: services.LetterError) -> None:
    for _field, message in err.problems:
        flash(message, "error")


@bp.app_template_global("letter_options")
def _letter_options_global():
    return letter_options()


@bp.app_template_global("case_letters")
def _case_letters_global(case_id: int):
    return services.case_letters(case_id, limit=20)


@bp.app_template_global("letter_type_label")
def _letter_type_label(key: str) -> str:
    lt = LETTER_TYPES.get(key)
    return lt.label if lt else key


# --------------------------------------------------------------------------- templates


@bp.route("/templates")
@roles(STAFF)
def templates():
    """List the system templates and the firm's own."""
    page = db.paginate(services.templates_query(), per_page=PAGE, error_out=False)
    form = CopyTemplateForm()
    return render_template(
        "letters/templates.html",
        page=page,
        types=list(LETTER_TYPES.values()),
        form=form,
        can_manage=_can_manage(),
    )


@bp.route("/system")
@roles(STAFF)
def system_template():
    """Show a system template (?type=...)."""
    key = request.args.get("type", "")
    if key not in LETTER_TYPES:
        abort(404)
    lt = letter_type(key)
    return render_template(
        "letters/system.html",
        lt=lt,
        fields=documented_fields(lt.is_nsa),
        form=CopyTemplateForm(formdata=None, letter_type=key, name=f"{lt.label} (ours)"),
        preview=PreviewForm(formdata=None, letter_type=key, subject=lt.subject, body=lt.body),
        can_manage=_can_manage(),
    )


@bp.route("/templates/copy", methods=["POST"])
@roles(MANAGERS)
def copy_template():
    """Copy a system template (or a firm template) into a new firm template."""
    form = CopyTemplateForm()
    source = None
    if form.source_template_id.data:
        try:
            source = require_own(
                LetterTemplate,
                form.source_template_id.data,
                field="source_template_id",
                label="template",
            )
        except ForeignIdError:
            abort(404)
        source = _template_or_404(source.id)
    if not form.validate_on_submit():
        for field, errors in form.errors.items():
            for e in errors:
                flash(f"{field}: {e}", "error")
        return redirect(url_for("letters.templates"))
    try:
        template = services.copy_template(
            tenant_id=g.tenant.id,
            actor=g.actor,
            name=form.name.data,
            letter_type_key=form.letter_type.data,
            source=source,
        )
    except services.LetterError as err:
        db.session.rollback()
        _flash_problems(err)
        return redirect(url_for("letters.templates"))
    db.session.commit()
    flash(f"Template “{template.name}” created. Edit it below.", "success")
    return redirect(url_for("letters.edit_template", template_id=template.id))


@bp.route("/templates/<int:template_id>")
@roles(STAFF)
def template_detail(template_id: int):
    """Show a firm template's current text."""
    t = _template_or_404(template_id)
    version = services.current_version(t)
    lt = letter_type(t.letter_type)
    return render_template(
        "letters/template.html",
        t=t,
        version=version,
        lt=lt,
        fields=documented_fields(lt.is_nsa),
        can_manage=_can_manage(),
        preview=PreviewForm(
            formdata=None,
            letter_type=lt.key,
            subject=version.subject if version else "",
            body=version.body if version else "",
        ),
        copy_form=CopyTemplateForm(formdata=None, source_template_id=t.id, name=f"{t.name} (copy)"),
    )


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@roles(MANAGERS)
def edit_template(template_id: int):
    """Edit a firm template: each save is a new version."""
    t = _template_or_404(template_id)
    version = services.current_version(t)
    lt = letter_type(t.letter_type)
    form = EditTemplateForm(obj=None)
    problems: list[tuple[str, str]] = []
    if request.method == "GET":
        form.name.data = t.name
        form.subject.data = version.subject if version else lt.subject
        form.body.data = version.body if version else lt.body
    elif form.validate_on_submit():
        try:
            new = services.save_version(
                t,
                actor=g.actor,
                subject=form.subject.data,
                body=form.body.data,
                note=form.note.data,
                name=form.name.data,
            )
        except services.LetterError as err:
            db.session.rollback()
            problems = err.problems
            for field, message in problems:
                target = getattr(form, field, None)
                if target is not None and hasattr(target, "errors"):
                    target.errors = (
                        [*target.errors, message] if isinstance(target.errors, list) else [message]
                    )
        else:
            db.session.commit()
            flash(f"Saved as version {new.number}.", "success")
            return redirect(url_for("letters.template_detail", template_id=t.id))
    status = 422 if problems or (request.method == "POST" and form.errors) else 200
    return render_template(
        "letters/edit.html",
        t=t,
        form=form,
        lt=lt,
        version=version,
        problems=problems,
        fields=documented_fields(lt.is_nsa),
        preview=PreviewForm(formdata=None, letter_type=lt.key),
    ), status


@bp.route("/templates/<int:template_id>/versions")
@roles(STAFF)
def versions(template_id: int):
    """List a template's versions, newest first."""
    t = _template_or_404(template_id)
    page = db.paginate(services.versions_query(t), per_page=PAGE, error_out=False)
    return render_template("letters/versions.html", t=t, page=page, can_manage=_can_manage())


@bp.route("/templates/<int:template_id>/versions/<int:version_id>")
@roles(STAFF)
def version_detail(template_id: int, version_id: int):
    """Show one saved version of a template."""
    t = _template_or_404(template_id)
    v = db.session.get(LetterTemplateVersion, version_id)
    if v is None or v.template_id != t.id:
        abort(404)
    return render_template("letters/version.html", t=t, v=v, can_manage=_can_manage())


@bp.route("/templates/<int:template_id>/versions/<int:version_id>/restore", methods=["POST"])
@roles(MANAGERS)
def restore_version(template_id: int, version_id: int):
    """Make an old version's text the newest version."""
    t = _template_or_404(template_id)
    v = db.session.get(LetterTemplateVersion, version_id)
    if v is None or v.template_id != t.id:
        abort(404)
    try:
        new = services.save_version(
            t, actor=g.actor, subject=v.subject, body=v.body, note=f"Restored version {v.number}"
        )
    except services.LetterError as err:
        db.session.rollback()
        _flash_problems(err)
        return redirect(url_for("letters.versions", template_id=t.id))
    db.session.commit()
    flash(f"Version {v.number} restored as version {new.number}.", "success")
    return redirect(url_for("letters.template_detail", template_id=t.id))


@bp.route("/templates/<int:template_id>/archive", methods=["POST"])
@roles(MANAGERS)
def archive_template(template_id: int):
    """Hide a firm template from the letter choices (its versions stay)."""
    t = _template_or_404(template_id)
    t.is_archived = True
    audit("letter_template.archived", t)
    db.session.commit()
    flash(f"Template “{t.name}” archived.", "success")
    return redirect(url_for("letters.templates"))


@bp.route("/preview", methods=["POST"])
@roles(MANAGERS)  # whoever may edit templates: a preview runs any text given to it
def preview():
    """Render a template's text (saved or not) for a real case, as a PDF."""
    from advocate.cases.models import Case

    form = PreviewForm()
    problems: list[tuple[str, str]] = []
    case = None
    if not form.validate_on_submit() or form.letter_type.data not in LETTER_TYPES:
        problems.append(("case", "case: give a case number, e.g. C-000123"))
    else:
        ref = form.case.data.strip().upper().removeprefix("C-").removeprefix("C").lstrip("0") or "0"
        if (ref.isascii() and ref.isdigit()) and len(ref) <= 9:
            case = db.session.scalar(select(Case).where(Case.number == int(ref)))
        if case is None:
            problems.append(("case", f"case: no case {form.case.data.strip()} in this firm"))
    if not problems:
        try:
            pdf = services.preview(
                case,
                form.letter_type.data,
                subject=form.subject.data or "",
                body=form.body.data or "",
                tenant=g.tenant,
                sender=services.sender_of(g.actor),
                today=_today(),
            )
        except services.LetterError as err:
            problems = err.problems
    if problems:
        db.session.rollback()
        return render_template("letters/preview_error.html", problems=problems), 422
    audit("letter.previewed", case, is_phi=True, details={"letter_type": form.letter_type.data})
    db.session.commit()
    resp = send_file(io.BytesIO(pdf), mimetype="application/pdf", download_name="preview.pdf")
    resp.headers["Content-Disposition"] = 'inline; filename="letter-preview.pdf"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --------------------------------------------------------------------------- one letter for a case


@bp.route("/cases/<int:case_id>/letters")
@roles(STAFF)
def case_letters(case_id: int):
    """Show a case's letters and the form to generate one."""
    case = _case_or_404(case_id)
    return render_template("letters/case.html", case=case, can_work=_can_work())


@bp.route("/cases/<int:case_id>/letters", methods=["POST"])
@roles(WORKERS)
def generate(case_id: int):
    """Generate one letter for a case, filed as a case document."""
    case = _case_or_404(case_id)
    nxt = request.form.get("next")
    back = nxt if is_safe_next(nxt) else url_for("cases.detail", case_id=case.id)
    try:
        key, version_id = _parse_choice(request.form.get("template"))
        letter = services.generate_letter(
            tenant=g.tenant,
            actor=g.actor,
            case=case,
            letter_type_key=key,
            template_version_id=version_id,
            today=_today(),
        )
    except services.LetterError as err:
        db.session.rollback()
        _flash_problems(err)
        return redirect(back)
    db.session.commit()
    flash(
        f"{letter_type(letter.letter_type).label} generated and filed in the case's documents.",
        "success",
    )
    for warning in getattr(letter, "warnings", []):
        flash(warning, "warning")
    return redirect(back)


# --------------------------------------------------------------------------- batches


@bp.route("/batches")
@roles(STAFF)
def batches():
    """List the firm's letter batches."""
    page = db.paginate(services.batches_query(), per_page=PAGE, error_out=False)
    return render_template("letters/batches.html", page=page, can_work=_can_work())


def _filter_form_data():
    from advocate.cases.queries import FILTER_PARAMS

    return {k: request.args.getlist(k) for k in FILTER_PARAMS if request.args.getlist(k)}


@bp.route("/batches/new")
@roles(WORKERS)
def new_batch():
    """Choose the cases (caseload filters) and the letter for a batch."""
    from advocate.cases.queries import count_cases, parse_case_filter
    from advocate.payers.models import Payer
    from advocate.practices.models import Practice

    f, errors = parse_case_filter(request.args, today=_today())
    count = None if errors else count_cases(f)
    practices = db.session.execute(
        select(Practice.id, Practice.name).order_by(Practice.name).limit(500)
    ).all()
    payers = db.session.execute(select(Payer.id, Payer.name).order_by(Payer.name).limit(500)).all()
    return render_template(
        "letters/new_batch.html",
        errors=errors,
        count=count,
        args=_filter_form_data(),
        practices=practices,
        payers=payers,
        options=letter_options(),
        max_letters=services.MAX_BATCH_LETTERS,
    )


@bp.route("/batches", methods=["POST"])
@roles(WORKERS)
def create_batch():
    """Create a batch from the filters and start rendering it."""
    from werkzeug.datastructures import MultiDict

    from advocate.cases.queries import FILTER_PARAMS

    args = MultiDict([(k, v) for k in FILTER_PARAMS for v in request.form.getlist(k) if v != ""])
    try:
        key, version_id = _parse_choice(request.form.get("template"))
        batch = services.create_batch(
            tenant=g.tenant,
            actor=g.actor,
            filter_args=args,
            letter_type_key=key,
            template_version_id=version_id,
            today=_today(),
        )
    except services.LetterError as err:
        db.session.rollback()
        _flash_problems(err)
        return redirect(url_for("letters.new_batch", **args.to_dict(flat=False)))
    db.session.commit()
    tid, bid, total = g.tenant.id, batch.id, batch.total
    tasks.start_batch(tid, bid, total)
    flash(f"Batch of {total:,} letters started.", "success")
    return redirect(url_for("letters.batch", batch_id=bid))


@bp.route("/batches/<int:batch_id>")
@roles(STAFF)
def batch(batch_id: int):
    """Show a batch's progress, its failed letters and its downloads."""
    b = _batch_or_404(batch_id)
    prog = services.progress(b)
    failed = db.paginate(services.batch_letters_query(b, FAILED), per_page=PAGE, error_out=False)
    numbers = services.case_numbers([letter.case_id for letter in failed.items])
    return render_template(
        "letters/batch.html",
        b=b,
        prog=prog,
        failed=failed,
        numbers=numbers,
        lt=letter_type(b.letter_type),
        can_work=_can_work(),
    )


@bp.route("/batches/<int:batch_id>/progress.json")
@roles(STAFF)
def batch_progress(batch_id: int):
    """The batch's progress counted from its letters (polled by the page)."""
    b = _batch_or_404(batch_id)
    return jsonify(services.progress(b))


@bp.route("/batches/<int:batch_id>/cancel", methods=["POST"])
@roles(WORKERS)
def cancel_batch(batch_id: int):
    """Cancel the letters of a batch not yet rendered."""
    b = _batch_or_404(batch_id)
    n = services.cancel_batch(b, actor=g.actor)
    db.session.commit()
    flash(f"Batch cancelled: {n:,} letters not yet rendered were cancelled.", "success")
    return redirect(url_for("letters.batch", batch_id=b.id))


@bp.route("/batches/<int:batch_id>/retry-failed", methods=["POST"])
@roles(WORKERS)
def retry_failed(batch_id: int):
    """Queue the failed letters of a batch again."""
    b = _batch_or_404(batch_id)
    n = services.retry_failed(b, actor=g.actor)
    db.session.commit()
    if n:
        tasks.start_batch(g.tenant.id, b.id, n)
        flash(f"Retrying {n:,} failed letters.", "success")
    else:
        flash("No failed letters to retry.", "info")
    return redirect(url_for("letters.batch", batch_id=b.id))


@bp.route("/letter/<int:letter_id>/retry", methods=["POST"])
@roles(WORKERS)
def retry_letter(letter_id: int):
    """Queue one failed letter of a batch again."""
    letter = db.session.get(Letter, letter_id)
    if letter is None or letter.batch_id is None:
        abort(404)
    b = _batch_or_404(letter.batch_id)
    if letter.status == FAILED:
        letter.status, letter.error, letter.lease_token, letter.leased_until = (
            PENDING,
            None,
            None,
            None,
        )
        if b.status != "running":
            b.status, b.finished_at, b.cancelled_at = "running", None, None
        audit("letter.retried", letter, details={"batch_id": b.id})
        db.session.commit()
        tasks.start_batch(g.tenant.id, b.id, 1)
        flash("Letter queued again.", "success")
    return redirect(url_for("letters.batch", batch_id=b.id))


def _download_name(b: LetterBatch, ext: str) -> str:
    return f"letters-batch-{b.id}-{b.letter_type}.{ext}"


@bp.route("/batches/<int:batch_id>/download.zip")
@roles(STAFF)
def download_zip(batch_id: int):
    """Download every generated letter of the batch as a ZIP."""
    b = _batch_or_404(batch_id)
    export = services.zip_batch(b, actor=g.actor)
    db.session.commit()
    return send_file(
        export.file,
        mimetype="application/zip",
        as_attachment=True,
        download_name=_download_name(b, "zip"),
        max_age=0,
    )


@bp.route("/batches/<int:batch_id>/merged.pdf")
@roles(STAFF)
def download_merged(batch_id: int):
    """Download every generated letter of the batch as one PDF for printing."""
    b = _batch_or_404(batch_id)
    try:
        export = services.merged_pdf(b, actor=g.actor)
    except services.LetterError as err:
        db.session.rollback()
        _flash_problems(err)
        return redirect(url_for("letters.batch", batch_id=b.id))
    db.session.commit()
    return send_file(
        export.file,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=_download_name(b, "pdf"),
        max_age=0,
    )
