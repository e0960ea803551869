"""Import pages: 835 upload -> preview -> post, the unmatched-claims review
list, claim CSV upload -> (header mapping) -> preview -> import, the firm's
settings and saved header mapping.

Workers (owner, admin, advocate) import and review; managers change settings.
Uploads wait for their confirm step in the tenant-scoped import stash, bound
to the person and checked against their hash; an error report waits there too,
so the person can download it.
"""

from __future__ import annotations

import hashlib

from flask import (
    Response,
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
from advocate.auth.access import MANAGERS, WORKERS, roles
from advocate.cases.models import Case
from advocate.cases.services import CaseValidationError
from advocate.csvimport import discard_stash, load_stash, stash_upload
from advocate.extensions import db
from advocate.forms import choices
from advocate.imports import bp, claims_csv, era, posting, services
from advocate.imports.forms import (
    ActionForm,
    AliasForm,
    ClaimsUploadForm,
    ConfirmForm,
    FixForm,
    RemittanceUploadForm,
    SettingsForm,
    UnmatchedCaseForm,
)
from advocate.imports.models import (
    OUTCOMES,
    UNMATCHED_STATUSES,
    ClaimImport,
    HeaderAlias,
    Remittance,
    RemittanceAdjustment,
    RemittanceClaim,
    RemittanceTransaction,
    UnmatchedClaim,
)
from advocate.imports.x12 import gc_paused
from advocate.payers.defaults import PLAN_TYPES
from advocate.payers.models import Payer
from advocate.practices.models import Practice
from tenants import require_tenant_id

KIND_835 = "835"
KIND_REPORT = "import-report"
PREVIEW_CLAIMS = 50
SHOWN_ERRORS = 200


def _page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def _max_upload() -> int:
    return current_app.config.get("MAX_CONTENT_LENGTH") or 25 * 1024 * 1024


def _read_upload(form) -> tuple[bytes | None, str | None]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        form.file.errors = ["Choose a file to upload."]
        return None, None
    data = upload.read(_max_upload() + 1)
    if not data:
        form.file.errors = ["The file is empty."]
        return None, None
    return data, upload.filename


def _stash_report(lines: list[str], filename: str | None) -> str:
    stash = stash_upload(
        kind=KIND_REPORT,
        data=("\n".join(lines) + "\n").encode(),
        filename=f"{filename or 'upload'} errors.txt",
        actor_id=g.actor.id,
    )
    return stash.token


# -- index ------------------------------------------------------------------------


@bp.route("/")
@roles(WORKERS)
def index():
    """List posted 835 files and claim imports, with the review list's size."""
    page = db.paginate(
        # The explicit tenant filter also scopes paginate()'s count subquery.
        select(Remittance)
        .where(Remittance.tenant_id == require_tenant_id())
        .order_by(Remittance.imported_at.desc(), Remittance.id.desc()),
        per_page=_page_size(),
        error_out=False,
    )
    claim_imports = db.session.scalars(
        select(ClaimImport)
        .order_by(ClaimImport.imported_at.desc(), ClaimImport.id.desc())
        .limit(10)
    ).all()
    open_unmatched = db.session.scalar(
        # count(<column>), not count(*).select_from(): the ORM's tenant filter sees the entity.
        select(func.count(UnmatchedClaim.id)).where(UnmatchedClaim.status == "open")
    )
    return render_template(
        "imports/index.html",
        page=page,
        claim_imports=claim_imports,
        open_unmatched=open_unmatched,
        threshold=services.co45_threshold(),
    )


# -- 835 --------------------------------------------------------------------------


def _upload_page(form, status=200):
    return render_template(
        "imports/remittance_upload.html",
        form=form,
        max_mb=_max_upload() // (1024 * 1024),
        threshold=services.co45_threshold(),
    ), status


@bp.route("/remittances/upload", methods=["GET", "POST"])
@roles(WORKERS)
def remittance_upload():
    """Upload an 835: shows what posting it would do, posts nothing yet."""
    form = RemittanceUploadForm()
    if request.method == "GET":
        return _upload_page(form)
    form.validate()
    data, filename = _read_upload(form)
    if data is None:
        return _upload_page(form, 422)
    if len(data) > _max_upload():
        form.file.errors = [f"The file is larger than {_max_upload() // (1024 * 1024)} MB."]
        return _upload_page(form, 422)
    return _preview_835(data, filename)


def _preview_835(data: bytes, filename: str | None):
    sha = hashlib.sha256(data).hexdigest()
    previous = posting.find_duplicate(sha)
    if previous is not None:
        return render_template(
            "imports/remittance_preview.html",
            plan=None,
            previous=previous,
            filename=filename,
            errors=[],
            report_token=None,
            confirm=None,
            claims=[],
        ), 200
    with gc_paused():  # a large, acyclic parse tree (see posting.import_835)
        result = era.parse_835(data)
        plan = None if result.errors else posting.plan_835(result, sha)
    if result.errors:
        token = _stash_report([str(e) for e in result.errors], filename)
        db.session.commit()
        return render_template(
            "imports/remittance_preview.html",
            plan=None,
            previous=None,
            filename=filename,
            errors=result.errors[:SHOWN_ERRORS],
            error_count=len(result.errors),
            error_kinds=posting.error_summary(result.errors, SHOWN_ERRORS)["by_kind"][:30],
            report_token=token,
            confirm=None,
            claims=[],
        ), 422
    confirm = None
    if not plan.duplicate:
        stash = stash_upload(kind=KIND_835, data=data, filename=filename, actor_id=g.actor.id)
        db.session.commit()
        confirm = ConfirmForm(token=stash.token)
    return render_template(
        "imports/remittance_preview.html",
        plan=plan,
        previous=None,
        filename=filename,
        errors=[],
        report_token=None,
        confirm=confirm,
        claims=plan.claims[:PREVIEW_CLAIMS],
        preview_claims=PREVIEW_CLAIMS,
    ), 200


@bp.route("/remittances/confirm", methods=["POST"])
@roles(WORKERS)
def remittance_confirm():
    """Post the previewed 835: every claim, or nothing."""
    form = ConfirmForm()
    form.validate()
    stash = load_stash(kind=KIND_835, token=form.token.data, actor_id=g.actor.id)
    if stash is None:
        flash("That upload has expired or is not yours. Upload the file again.", "warning")
        return redirect(url_for("imports.remittance_upload"))
    data, filename = stash.data, stash.filename
    try:
        summary = posting.import_835(
            data,
            tenant_id=require_tenant_id(),
            actor_id=g.actor.id,
            filename=filename,
            source="upload",
        )
        discard_stash(stash)
        db.session.commit()
    except posting.EraImportError:
        db.session.rollback()
        return _preview_835(data, filename)
    except IntegrityError:  # the same file, posted by someone else a moment ago
        db.session.rollback()
        flash("This file was already imported: nothing changed.", "info")
        return redirect(url_for("imports.index"))
    except Exception:
        db.session.rollback()
        raise
    if summary.duplicate:
        flash("This file was already imported: nothing changed.", "info")
        if summary.remittance_id:
            return redirect(
                url_for("imports.remittance_detail", remittance_id=summary.remittance_id)
            )
        return redirect(url_for("imports.index"))
    flash(
        f"Posted {filename or 'the file'}: {summary.matched} claim(s) matched to cases, "
        f"{summary.created} new case(s), {summary.unmatched} to review; "
        f"total paid {summary.total_paid:,.2f}.",
        "success",
    )
    return redirect(url_for("imports.remittance_detail", remittance_id=summary.remittance_id))


@bp.route("/remittances/<int:remittance_id>")
@roles(WORKERS)
@audited("remittance.view", "remittance", "remittance_id")
def remittance_detail(remittance_id: int):
    """Show a posted 835: its transactions and what happened to each claim."""
    remittance = db.session.get(Remittance, remittance_id)
    if remittance is None:
        abort(404)
    outcome = request.args.get("outcome", "")
    q = select(RemittanceClaim).where(RemittanceClaim.remittance_id == remittance.id)
    if outcome in OUTCOMES:
        q = q.where(RemittanceClaim.outcome == outcome)
    page = db.paginate(q.order_by(RemittanceClaim.seq), per_page=_page_size(), error_out=False)
    case_ids = {c.case_id for c in page.items if c.case_id}
    refs = {}
    if case_ids:
        refs = {
            cid: f"C-{number:06d}"
            for cid, number in db.session.execute(
                select(Case.id, Case.number).where(Case.id.in_(case_ids))
            )
        }
    transactions = db.session.scalars(
        select(RemittanceTransaction)
        .where(RemittanceTransaction.remittance_id == remittance.id)
        .order_by(RemittanceTransaction.id)
        .limit(100)
    ).all()
    adjustments = db.session.scalars(
        select(RemittanceAdjustment)
        .where(RemittanceAdjustment.remittance_id == remittance.id)
        .order_by(RemittanceAdjustment.id)
        .limit(200)
    ).all()
    adjustment_cases = {a.case_id for a in adjustments if a.case_id} - set(refs)
    if adjustment_cases:
        refs.update(
            {
                cid: f"C-{number:06d}"
                for cid, number in db.session.execute(
                    select(Case.id, Case.number).where(Case.id.in_(adjustment_cases))
                )
            }
        )
    return render_template(
        "imports/remittance_detail.html",
        remittance=remittance,
        adjustments=adjustments,
        repost_form=ActionForm(),
        page=page,
        outcome=outcome,
        outcomes=OUTCOMES,
        refs=refs,
        transactions=transactions,
        case_pages="cases.detail" in current_app.view_functions,
    )


@bp.route("/reports/<token>")
@roles(WORKERS)
def report(token: str):
    """Download the error report of an upload that imported nothing."""
    stash = load_stash(kind=KIND_REPORT, token=token, actor_id=g.actor.id)
    if stash is None:
        abort(404)
    return Response(
        stash.data,
        mimetype="text/plain",
        headers={"Content-Disposition": "attachment; filename=import-errors.txt"},
    )


# -- the review list ------------------------------------------------------------------


def _unmatched_or_404(unmatched_id: int) -> UnmatchedClaim:
    item = db.session.get(UnmatchedClaim, unmatched_id)
    if item is None:
        abort(404)
    return item


@bp.route("/unmatched")
@roles(WORKERS)
@audited("unmatched_claim.list", "unmatched_claim")
def unmatched_index():
    """List 835 claims no case was found for, to open a case from or dismiss."""
    status = request.args.get("status", "open")
    if status not in UNMATCHED_STATUSES:
        status = "open"
    page = db.paginate(
        select(UnmatchedClaim)
        .where(UnmatchedClaim.tenant_id == require_tenant_id(), UnmatchedClaim.status == status)
        .order_by(UnmatchedClaim.id.desc()),
        per_page=_page_size(),
        error_out=False,
    )
    counts = {
        status_: n
        for status_, n in db.session.execute(
            select(UnmatchedClaim.status, func.count(UnmatchedClaim.id)).group_by(
                UnmatchedClaim.status
            )
        )
    }
    fixes = {item.id: services.fixes_for(item) for item in page.items}
    payers = practices = []
    if any(fixes.values()):
        payers = db.session.scalars(select(Payer).order_by(Payer.name)).all()
        practices = db.session.scalars(select(Practice).order_by(Practice.name)).all()
    return render_template(
        "imports/unmatched_index.html",
        page=page,
        status=status,
        counts=counts,
        statuses=UNMATCHED_STATUSES,
        fixes=fixes,
        payer_choices=[(str(p.id), p.name) for p in payers],
        practice_choices=[(str(p.id), f"{p.name} ({p.npi})") for p in practices],
        fix_form=FixForm(),
        repost_form=ActionForm(),
    )


@bp.route("/unmatched/<int:unmatched_id>/fix", methods=["POST"])
@roles(WORKERS)
def unmatched_fix(unmatched_id: int):
    """The fix in place: add the claim's payer ID, NPI or TIN to a payer or practice,
    then re-post its remittance's unmatched claims."""
    item = _unmatched_or_404(unmatched_id)
    form = FixForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.add_identifier(
            item, kind=form.kind.data or "", target_id=form.target_id.data, actor_id=g.actor.id
        )
        opened, still_open = services.repost_unmatched(
            item.remittance_id, tenant_id=require_tenant_id(), actor_id=g.actor.id
        )
    except services.ImportsError as err:
        db.session.rollback()
        flash("; ".join(m for _, m in err.errors), "warning")
        return redirect(url_for("imports.unmatched_index"))
    db.session.commit()
    flash(
        f"Saved. Re-posted the file's unmatched claims: {opened} case(s) opened, "
        f"{still_open} still to review.",
        "success",
    )
    return redirect(url_for("imports.unmatched_index"))


@bp.route("/remittances/<int:remittance_id>/repost", methods=["POST"])
@roles(WORKERS)
def remittance_repost(remittance_id: int):
    """Re-post a remittance's unmatched claims (after a payer or practice was fixed)."""
    remittance = db.session.get(Remittance, remittance_id)
    if remittance is None:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    opened, still_open = services.repost_unmatched(
        remittance.id, tenant_id=require_tenant_id(), actor_id=g.actor.id
    )
    db.session.commit()
    flash(f"Re-posted: {opened} case(s) opened, {still_open} still to review.", "success")
    return redirect(url_for("imports.remittance_detail", remittance_id=remittance.id))


def _case_form(item: UnmatchedClaim, formdata=None) -> UnmatchedCaseForm:
    practices = db.session.scalars(select(Practice).order_by(Practice.name, Practice.id)).all()
    payers = db.session.scalars(select(Payer).order_by(Payer.name, Payer.id)).all()
    if formdata is None:
        form = UnmatchedCaseForm(
            formdata=None,
            practice_id=str(services.default_practice_id(item) or ""),
            payer_id=str(services.default_payer_id(item) or ""),
            plan_type=(item.data or {}).get("plan_type") or "other",
        )
    else:
        form = UnmatchedCaseForm()
    form.set_choices(practices, payers, PLAN_TYPES)
    return form


def _unmatched_page(item: UnmatchedClaim, form, status=200, problems=None):
    return render_template(
        "imports/unmatched_detail.html",
        item=item,
        form=form,
        dismiss=ActionForm(),
        problems=problems or [],
        lines=(item.data or {}).get("lines") or [],
    ), status


@bp.route("/unmatched/<int:unmatched_id>", methods=["GET", "POST"])
@roles(WORKERS)
@audited("unmatched_claim.view", "unmatched_claim", "unmatched_id")
def unmatched_detail(unmatched_id: int):
    """Show an unmatched claim; posting opens a case from it at intake."""
    item = _unmatched_or_404(unmatched_id)
    if request.method == "GET":
        return _unmatched_page(item, _case_form(item))
    form = _case_form(item, formdata=True)
    if not form.validate():
        return _unmatched_page(item, form, 422)
    try:
        case = services.create_case_from_unmatched(
            item,
            tenant_id=require_tenant_id(),
            actor_id=g.actor.id,
            practice_id=form.practice_id.data,
            payer_id=form.payer_id.data,
            plan_type=form.plan_type.data,
        )
    except (CaseValidationError, services.ImportsError) as err:
        db.session.rollback()
        item = _unmatched_or_404(unmatched_id)
        return _unmatched_page(item, form, 422, problems=err.errors)
    db.session.commit()
    flash(f"Opened case {case.reference} from the claim.", "success")
    if "cases.detail" in current_app.view_functions:
        return redirect(url_for("cases.detail", case_id=case.id))
    return redirect(url_for("imports.unmatched_detail", unmatched_id=item.id))


@bp.route("/unmatched/<int:unmatched_id>/dismiss", methods=["POST"])
@roles(WORKERS)
def unmatched_dismiss(unmatched_id: int):
    """Dismiss an unmatched claim from the review list."""
    item = _unmatched_or_404(unmatched_id)
    form = ActionForm()
    if not form.validate():
        abort(400)
    try:
        services.dismiss_unmatched(item, actor_id=g.actor.id)
    except services.ImportsError as err:
        db.session.rollback()
        flash(err.errors[0][1], "warning")
        return redirect(url_for("imports.unmatched_detail", unmatched_id=unmatched_id))
    db.session.commit()
    flash("Dismissed.", "success")
    return redirect(url_for("imports.unmatched_index"))


# -- settings ---------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@roles(MANAGERS)
def settings():
    """Change the firm's import settings (the CO-45 rule for new cases)."""
    if request.method == "GET":
        form = SettingsForm(formdata=None, co45_threshold=f"{services.co45_threshold():.2f}")
        return render_template("imports/settings.html", form=form)
    form = SettingsForm()
    if form.validate():
        try:
            services.update_settings(
                tenant_id=require_tenant_id(),
                actor_id=g.actor.id,
                co45_threshold=form.co45_threshold.data,
            )
        except services.ImportsError as err:
            db.session.rollback()
            form.co45_threshold.errors = [m for _, m in err.errors]
        else:
            db.session.commit()
            flash("Import settings saved.", "success")
            return redirect(url_for("imports.settings"))
    return render_template("imports/settings.html", form=form), 422


# -- claims CSV ------------------------------------------------------------------------


def _claims_page(form, status=200):
    return render_template(
        "imports/claims_upload.html",
        form=form,
        columns=claims_csv.COLUMNS,
        max_mb=claims_csv.MAX_BYTES // (1024 * 1024),
        max_rows=claims_csv.MAX_ROWS,
    ), status


@bp.route("/claims", methods=["GET", "POST"])
@roles(WORKERS)
def claims_upload():
    """Upload a claims CSV: shows what it would do, imports nothing yet."""
    form = ClaimsUploadForm()
    if request.method == "GET":
        return _claims_page(form)
    form.validate()
    data, filename = _read_upload(form)
    if data is None:
        return _claims_page(form, 422)
    stash = stash_upload(kind=claims_csv.KIND, data=data, filename=filename, actor_id=g.actor.id)
    db.session.commit()
    return _claims_preview(stash)


def _claims_preview(stash):
    plan = claims_csv.plan_claims(stash.data, aliases=services.header_aliases(claims_csv.KIND))
    confirm = ConfirmForm(token=stash.token) if plan.ok and not plan.duplicate else None
    report_token = None
    if plan.errors:
        report_token = _stash_report([str(e) for e in plan.errors], stash.filename)
        db.session.commit()
    unknown = list(plan.preview.ignored_headers)
    missing = [
        c.key for c in claims_csv.COLUMNS if c.required and c.key not in plan.preview.columns
    ]
    return render_template(
        "imports/claims_preview.html",
        plan=plan,
        counts=plan.counts(),
        confirm=confirm,
        filename=stash.filename,
        token=stash.token,
        groups=plan.groups[: claims_csv.PREVIEW_CLAIMS],
        preview_claims=claims_csv.PREVIEW_CLAIMS,
        errors=plan.errors[:SHOWN_ERRORS],
        report_token=report_token,
        unknown=unknown,
        missing=missing,
        columns=claims_csv.COLUMNS,
        mapping_form=ActionForm(),
    ), (200 if plan.ok else 422)


@bp.route("/claims/mapping", methods=["POST"])
@roles(WORKERS)
def claims_mapping():
    """Save what the file's unrecognised columns mean, then preview it again."""
    form = ActionForm()
    if not form.validate():
        abort(400)
    stash = load_stash(kind=claims_csv.KIND, token=request.form.get("token"), actor_id=g.actor.id)
    if stash is None:
        flash("That upload has expired or is not yours. Upload the file again.", "warning")
        return redirect(url_for("imports.claims_upload"))
    mapping = {}
    for key, value in request.form.items():
        if key.startswith("map:") and value:
            mapping[key[4:]] = value
    if mapping:
        try:
            services.save_header_aliases(
                claims_csv.KIND, mapping, allowed=claims_csv.COLUMN_KEYS, actor_id=g.actor.id
            )
        except services.ImportsError as err:
            db.session.rollback()
            flash("; ".join(m for _, m in err.errors), "danger")
        else:
            db.session.commit()
            flash("Header mapping saved for your firm.", "success")
    return _claims_preview(stash)


@bp.route("/claims/confirm", methods=["POST"])
@roles(WORKERS)
def claims_confirm():
    """Import the previewed claims CSV: every claim, or none."""
    form = ConfirmForm()
    form.validate()
    stash = load_stash(kind=claims_csv.KIND, token=form.token.data, actor_id=g.actor.id)
    if stash is None:
        flash("That upload has expired or is not yours. Upload the file again.", "warning")
        return redirect(url_for("imports.claims_upload"))
    filename = stash.filename
    try:
        plan = claims_csv.plan_claims(stash.data, aliases=services.header_aliases(claims_csv.KIND))
        summary = claims_csv.import_claims(
            plan,
            tenant_id=require_tenant_id(),
            actor_id=g.actor.id,
            filename=filename,
            source="upload",
        )
        discard_stash(stash)
        db.session.commit()
    except claims_csv.ClaimsImportError:
        db.session.rollback()
        return _claims_preview(
            load_stash(kind=claims_csv.KIND, token=form.token.data, actor_id=g.actor.id)
        )
    except IntegrityError:  # the same file, imported by someone else a moment ago
        db.session.rollback()
        flash("This file was already imported: nothing changed.", "info")
        return redirect(url_for("imports.index"))
    except Exception:
        db.session.rollback()
        raise
    if summary.duplicate:
        flash("This file was already imported: nothing changed.", "info")
    else:
        flash(
            f"Imported {filename or 'the file'}: {summary.created} case(s) opened at intake, "
            f"{summary.existing} claim(s) already had a case.",
            "success",
        )
    return redirect(url_for("imports.index"))


@bp.route("/claims/template.csv")
@roles(WORKERS)
def claims_template():
    """Download an empty claims CSV with every column."""
    body = claims_csv.schema().template_header()
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=claims-template.csv"},
    )


# -- the saved header mapping ---------------------------------------------------------


def _alias_form(formdata=None) -> AliasForm:
    form = AliasForm() if formdata else AliasForm(formdata=None)
    form.column.choices = choices([("", "Choose…")] + [(c.key, c.key) for c in claims_csv.COLUMNS])
    return form


def _mapping_page(form, status=200):
    aliases = db.session.scalars(
        select(HeaderAlias)
        .where(HeaderAlias.kind == claims_csv.KIND)
        .order_by(HeaderAlias.header_key)
    ).all()
    return render_template(
        "imports/mapping.html",
        form=form,
        aliases=aliases,
        delete=ActionForm(),
        columns=claims_csv.COLUMNS,
    ), status


@bp.route("/mapping", methods=["GET", "POST"])
@roles(WORKERS)
def mapping():
    """Show and add to the firm's saved header mapping for claim CSVs."""
    if request.method == "GET":
        return _mapping_page(_alias_form())
    form = _alias_form(formdata=True)
    if not form.validate():
        return _mapping_page(form, 422)
    builtin = claims_csv.builtin_column(form.header.data)
    if builtin is not None:
        form.header.errors = [f"'{form.header.data}' is already a name of the {builtin} column."]
        return _mapping_page(form, 422)
    try:
        services.save_header_aliases(
            claims_csv.KIND,
            {form.header.data.strip(): form.column.data},
            allowed=claims_csv.COLUMN_KEYS,
            actor_id=g.actor.id,
        )
    except services.ImportsError as err:
        db.session.rollback()
        form.header.errors = [m for _, m in err.errors]
        return _mapping_page(form, 422)
    db.session.commit()
    flash("Header mapping saved.", "success")
    return redirect(url_for("imports.mapping"))


@bp.route("/mapping/<int:alias_id>/delete", methods=["POST"])
@roles(WORKERS)
def mapping_delete(alias_id: int):
    """Remove one column name from the firm's saved header mapping."""
    alias = db.session.get(HeaderAlias, alias_id)
    if alias is None:
        abort(404)
    form = ActionForm()
    if not form.validate():
        abort(400)
    services.delete_header_alias(alias, actor_id=g.actor.id)
    db.session.commit()
    flash("Removed from the header mapping.", "success")
    return redirect(url_for("imports.mapping"))
