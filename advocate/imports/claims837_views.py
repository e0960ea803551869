"""837 claims pages: upload -> preview -> import, an imported file's claims,
the review list of claims whose practice or payer is unknown (fixed in place),
and the ``claims`` CLI group (``flask --app wsgi claims import-837 FILE --tenant SLUG``).

Workers (owner, admin, advocate) import and review. Uploads wait for their
confirm step in the tenant-scoped import stash, bound to the person.
"""

from __future__ import annotations

import contextvars
import json
from pathlib import Path

import click
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from advocate.audit.services import audited
from advocate.auth.access import WORKERS, roles
from advocate.cases.models import Case
from advocate.cases.services import CaseValidationError
from advocate.csvimport import discard_stash, load_stash, stash_upload
from advocate.extensions import db
from advocate.imports import claims837, claims837_import
from advocate.imports.claims837_models import CLAIM_STATUSES, X12Claim, X12ClaimFile
from advocate.imports.forms import ActionForm, ConfirmForm, UnmatchedCaseForm
from advocate.imports.x12 import gc_paused
from advocate.payers.defaults import PLAN_TYPES
from advocate.payers.models import Payer
from advocate.practices.models import Practice
from advocate.web import register_nav
from tenants import require_tenant_id

bp = Blueprint("claims837", __name__, url_prefix="/imports/x12-claims", cli_group="claims")
register_nav(51, "Work", "837 claims", "claims837.upload", WORKERS)

PREVIEW_CLAIMS = 50
OUTCOMES = ("created", "updated", "unmatched")


def _max_upload() -> int:
    return current_app.config.get("MAX_CONTENT_LENGTH") or 25 * 1024 * 1024


def _upload_page(error: str | None = None, status: int = 200):
    from advocate.imports.forms import RemittanceUploadForm

    form = RemittanceUploadForm()
    form.file.label.text = "837 file"
    form.file.description = (
        "An X12 837 professional (005010X222A1) or institutional (005010X223A2) claim file."
    )
    if error:
        form.file.errors = [error]
    return render_template(
        "imports/claims837_upload.html", form=form, max_mb=_max_upload() // (1024 * 1024)
    ), status


@bp.route("/", methods=["GET", "POST"])
@roles(WORKERS)
def upload():
    """Upload an 837: shows what importing it would do, imports nothing yet."""
    if request.method == "GET":
        return _upload_page()
    from advocate.imports.forms import RemittanceUploadForm

    RemittanceUploadForm().validate()
    f = request.files.get("file")
    if f is None or not f.filename:
        return _upload_page("Choose a file to upload.", 422)
    data = f.read(_max_upload() + 1)
    if not data:
        return _upload_page("The file is empty.", 422)
    if len(data) > _max_upload():
        return _upload_page(f"The file is larger than {_max_upload() // (1024 * 1024)} MB.", 422)
    return _preview(data, f.filename)


def _preview(data: bytes, filename: str | None):
    with gc_paused():
        plan = claims837_import.plan_837(data)
    confirm = None
    if plan.ok and not plan.duplicate:
        stash = stash_upload(
            kind=claims837_import.KIND, data=data, filename=filename, actor_id=g.actor.id
        )
        db.session.commit()
        confirm = ConfirmForm(token=stash.token)
    errors = plan.all_errors
    return render_template(
        "imports/claims837_preview.html",
        plan=plan,
        filename=filename,
        errors=errors,
        by_claim=claims837.errors_by_claim(errors),
        confirm=confirm,
        claims=plan.claims[:PREVIEW_CLAIMS],
        preview_claims=PREVIEW_CLAIMS,
        is_835=bool(plan.result and plan.result.kind == "835"),
    ), (422 if not plan.ok else 200)


@bp.route("/confirm", methods=["POST"])
@roles(WORKERS)
def confirm():
    """Import the previewed 837: every claim, or nothing."""
    form = ConfirmForm()
    form.validate()
    stash = load_stash(kind=claims837_import.KIND, token=form.token.data, actor_id=g.actor.id)
    if stash is None:
        flash("That upload has expired or is not yours. Upload the file again.", "warning")
        return redirect(url_for("claims837.upload"))
    data, filename = stash.data, stash.filename
    try:
        with gc_paused():
            plan = claims837_import.plan_837(data)
            summary = claims837_import.import_837(
                plan, tenant_id=require_tenant_id(), actor_id=g.actor.id, filename=filename
            )
        discard_stash(stash)
        db.session.commit()
    except claims837_import.X837ImportError:
        db.session.rollback()
        return _preview(data, filename)
    except IntegrityError:  # the same file or interchange, imported by someone else meanwhile
        db.session.rollback()
        flash("This file was already imported: nothing changed.", "info")
        return redirect(url_for("claims837.upload"))
    if summary.duplicate:
        flash("This file was already imported: nothing changed.", "info")
        if summary.file_id:
            return redirect(url_for("claims837.file_detail", file_id=summary.file_id))
        return redirect(url_for("claims837.upload"))
    flash(
        f"Imported {filename or 'the file'}: {summary.created} new case(s), {summary.updated} "
        f"updated, {summary.unmatched} to fix, {summary.duplicate_claims} already imported.",
        "success",
    )
    return redirect(url_for("claims837.file_detail", file_id=summary.file_id))


@bp.route("/files/<int:file_id>")
@roles(WORKERS)
@audited("x12_claim_file.view", "x12_claim_file", "file_id")
def file_detail(file_id: int):
    """Show an imported 837 and what happened to each claim."""
    record = db.session.get(X12ClaimFile, file_id)
    if record is None:
        abort(404)
    outcome = request.args.get("outcome", "")
    q = select(X12Claim).where(X12Claim.file_id == record.id)
    if outcome in OUTCOMES:
        q = q.where(X12Claim.outcome == outcome)
    page = db.paginate(
        q.order_by(X12Claim.segment_no),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template(
        "imports/claims837_file.html",
        record=record,
        page=page,
        outcome=outcome,
        outcomes=OUTCOMES,
        refs=_refs(page.items),
        case_pages="cases.detail" in current_app.view_functions,
    )


def _refs(items) -> dict[int, str]:
    ids = {c.case_id for c in items if c.case_id}
    if not ids:
        return {}
    return {
        cid: f"C-{number:06d}"
        for cid, number in db.session.execute(select(Case.id, Case.number).where(Case.id.in_(ids)))
    }


# -- the review list: fixed in place ------------------------------------------------


def _fix_form(item: X12Claim, formdata: bool = False) -> UnmatchedCaseForm:
    practices = db.session.scalars(select(Practice).order_by(Practice.name, Practice.id)).all()
    payers = db.session.scalars(select(Payer).order_by(Payer.name, Payer.id)).all()
    if formdata:
        form = UnmatchedCaseForm()
    else:
        data = item.data or {}
        form = UnmatchedCaseForm(
            formdata=None,
            practice_id=str(data.get("practice_id") or ""),
            payer_id=str(data.get("payer_id") or ""),
            plan_type=data.get("plan_type") or "other",
        )
    form.set_choices(practices, payers, PLAN_TYPES)
    return form


def _unmatched_page(forms=None, problems=None, status=200):
    state = request.args.get("status", "open")
    if state not in CLAIM_STATUSES or state == "done":
        state = "open"
    page = db.paginate(
        select(X12Claim)
        .where(X12Claim.tenant_id == require_tenant_id(), X12Claim.status == state)
        .order_by(X12Claim.id.desc()),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    forms = forms or {}
    if state == "open":
        # One query each for the choices, shared by every row's form.
        practices = db.session.scalars(select(Practice).order_by(Practice.name, Practice.id)).all()
        payers = db.session.scalars(select(Payer).order_by(Payer.name, Payer.id)).all()
        for item in page.items:
            if item.id in forms:
                continue
            data = item.data or {}
            form = UnmatchedCaseForm(
                formdata=None,
                practice_id=str(data.get("practice_id") or ""),
                payer_id=str(data.get("payer_id") or ""),
                plan_type=data.get("plan_type") or "other",
            )
            form.set_choices(practices, payers, PLAN_TYPES)
            forms[item.id] = form
    counts = dict(
        db.session.execute(
            select(X12Claim.status, func.count(X12Claim.id))
            .where(X12Claim.outcome == "unmatched")
            .group_by(X12Claim.status)
        ).all()
    )
    return render_template(
        "imports/claims837_unmatched.html",
        page=page,
        state=state,
        forms=forms,
        problems=problems or {},
        dismiss=ActionForm(),
        counts=counts,
    ), status


@bp.route("/unmatched")
@roles(WORKERS)
@audited("x12_claim.list", "x12_claim")
def unmatched():
    """List 837 claims whose practice or payer is unknown, each with its fix."""
    return _unmatched_page()


def _item_or_404(claim_id: int) -> X12Claim:
    item = db.session.get(X12Claim, claim_id)
    if item is None or item.outcome != "unmatched":
        abort(404)
    return item


@bp.route("/unmatched/<int:claim_id>/resolve", methods=["POST"])
@roles(WORKERS)
def resolve(claim_id: int):
    """Open (or update) the case of an unmatched claim with the practice and payer chosen."""
    item = _item_or_404(claim_id)
    form = _fix_form(item, formdata=True)
    if not form.validate():
        return _unmatched_page({item.id: form}, {item.id: []}, 422)
    try:
        case = claims837_import.resolve_unmatched(
            item,
            tenant_id=require_tenant_id(),
            actor_id=g.actor.id,
            practice_id=form.practice_id.data,
            payer_id=form.payer_id.data,
            plan_type=form.plan_type.data,
        )
    except (CaseValidationError, claims837_import.FixError) as err:
        db.session.rollback()
        item = _item_or_404(claim_id)
        return _unmatched_page({item.id: _fix_form(item, True)}, {item.id: err.errors}, 422)
    db.session.commit()
    verb = "Updated" if item.outcome == "updated" else "Opened"
    flash(f"{verb} case {case.reference} from claim {item.patient_control_number}.", "success")
    return redirect(url_for("claims837.unmatched"))


@bp.route("/unmatched/<int:claim_id>/dismiss", methods=["POST"])
@roles(WORKERS)
def dismiss(claim_id: int):
    """Dismiss an unmatched 837 claim."""
    item = _item_or_404(claim_id)
    if not ActionForm().validate():
        abort(400)
    try:
        claims837_import.dismiss_unmatched(item, actor_id=g.actor.id)
    except claims837_import.FixError as err:
        db.session.rollback()
        flash(err.errors[0][1], "warning")
        return redirect(url_for("claims837.unmatched"))
    db.session.commit()
    flash("Dismissed.", "success")
    return redirect(url_for("claims837.unmatched"))


# -- CLI ---------------------------------------------------------------------------------


@bp.cli.command("import-837")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", "slug", required=True, help="Firm slug")
@click.option("--user", "email", default=None, help="Record the import as this person's")
def import_837_command(file: Path, slug: str, email: str | None):
    """Import an X12 837P/837I claim file: open or update the firm's cases."""
    contextvars.copy_context().run(_import_837, file, slug, email)


def _import_837(file: Path, slug: str, email: str | None) -> None:
    from advocate.imports.cli import _fail, _firm_and_actor
    from tenants import tenant_scope

    tenant_id, actor_id = _firm_and_actor(slug, email)
    data = file.read_bytes()
    with tenant_scope(tenant_id):
        try:
            summary = claims837_import.commit_837(
                data, tenant_id=tenant_id, actor_id=actor_id, filename=file.name, source="cli"
            )
        except claims837_import.X837ImportError as err:
            _fail(err.message, claims837.error_details(err.errors))
    click.echo(json.dumps(summary.as_json(), indent=2))
