"""Rates pages: the Medicare rate lookup and the firm's commercial percentiles."""

from __future__ import annotations

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
from sqlalchemy import select

from advocate.auth.access import MANAGERS, STAFF, roles
from advocate.extensions import db
from advocate.forms import choices
from advocate.rates import bp, services
from advocate.rates.forms import (
    COMMON_POS,
    ConfirmForm,
    MedicareLookupForm,
    PercentileSearchForm,
    PercentileUploadForm,
)
from advocate.rates.models import (
    IMPORT_PENDING,
    PERCENTILES,
    CommercialPercentile,
    PercentileImport,
)
from advocate.rates.percentiles import COLUMNS, MAX_ROWS, TEMPLATE_CSV


@bp.route("/medicare")
@roles(STAFF)
def medicare():
    """Look up a Medicare fee schedule amount and show how it is computed."""
    form = MedicareLookupForm(formdata=request.args or None)
    years = services.pfs_years()
    form.year.choices = choices([(str(y.year), str(y.year)) for y in years])
    quote = None
    not_found = None
    status = 200
    if request.args.get("code") is not None and years:
        try:
            quote = services.medicare_price(
                services.parse_year(form.year.data),
                form.code.data or "",
                form.modifier.data,
                pos=form.pos.data or "",
                zip_code=(form.zip.data or "").strip() or None,
                locality=(form.locality.data or "").strip() or None,
            )
        except services.RateInputError as err:
            field = getattr(form, err.field or "", None)
            if field is not None:
                field.errors = [*field.errors, err.message]
            else:
                flash(err.message, "danger")
            status = 422
        except services.RateNotFound as err:
            not_found = err.message
    return render_template(
        "rates/medicare.html",
        form=form,
        years=years,
        quote=quote,
        not_found=not_found,
        common_pos=COMMON_POS,
        fmt=services.format_decimal,
    ), status


def _percentile_query(form: PercentileSearchForm):
    q = select(CommercialPercentile)
    errors = []
    year = (form.year.data or "").strip()
    if year:
        if (year.isascii() and year.isdigit()) and len(year) == 4:
            q = q.where(CommercialPercentile.year == int(year))
        else:
            errors.append(f"Year '{year}' is not a 4-digit year.")
    code = (form.code.data or "").strip().upper()
    if code:
        q = q.where(CommercialPercentile.code.startswith(code, autoescape=True))
    modifier = (form.modifier.data or "").strip().upper()
    if modifier == "-":  # explicitly "no modifier"
        q = q.where(CommercialPercentile.modifier == "")
    elif modifier:
        q = q.where(CommercialPercentile.modifier == modifier)
    zip3 = (form.zip3.data or "").strip()
    if zip3:
        if (zip3.isascii() and zip3.isdigit()) and len(zip3) in (3, 5):
            q = q.where(CommercialPercentile.zip3 == zip3[:3])
        else:
            errors.append(f"ZIP area '{zip3}' is not 3 digits (or a 5-digit ZIP).")
    q = q.order_by(
        CommercialPercentile.year.desc(),
        CommercialPercentile.code,
        CommercialPercentile.modifier,
        CommercialPercentile.zip3,
    )
    return q, errors


@bp.route("/percentiles")
@roles(STAFF)
def percentiles():
    """List and search the firm's commercial percentiles."""
    form = PercentileSearchForm(formdata=request.args or None)
    q, errors = _percentile_query(form)
    page = db.paginate(q, per_page=current_app.config["PAGE_SIZE"] * 2, error_out=False, count=True)
    imports = []
    if g.membership.role in MANAGERS:
        imports = db.session.scalars(
            select(PercentileImport)
            .order_by(PercentileImport.created_at.desc(), PercentileImport.id.desc())
            .limit(10)
        ).all()
    return render_template(
        "rates/percentiles.html",
        form=form,
        page=page,
        errors=errors,
        imports=imports,
        percentiles=PERCENTILES,
        can_import=g.membership.role in MANAGERS,
    )


@bp.route("/percentiles/template.csv")
@roles(STAFF)
def percentile_template():
    """Download an example percentile CSV with the expected header."""
    return Response(
        TEMPLATE_CSV,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=percentiles-template.csv"},
    )


@bp.route("/percentiles/import", methods=["GET", "POST"])
@roles(MANAGERS)
def percentile_upload():
    """Upload a percentile CSV and check it before anything is saved."""
    form = PercentileUploadForm()
    parsed = None
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        imp, parsed = services.stage_percentile_import(
            g.membership.tenant_id, g.actor.id, upload.filename or "upload.csv", data
        )
        if imp is not None:
            db.session.commit()
            return redirect(url_for("rates.percentile_import", import_id=imp.id))
        db.session.rollback()
    status = 422 if (form.errors or parsed is not None) else 200
    return render_template(
        "rates/percentile_upload.html",
        form=form,
        parsed=parsed,
        columns=COLUMNS,
        max_rows=MAX_ROWS,
    ), status


def _import_or_404(import_id: int) -> PercentileImport:
    imp = db.session.get(PercentileImport, import_id)
    if imp is None or imp.tenant_id != g.membership.tenant_id:
        abort(404)
    return imp


@bp.route("/percentiles/imports/<int:import_id>")
@roles(MANAGERS)
def percentile_import(import_id: int):
    """Preview a pending percentile import, or show what an import did."""
    imp = _import_or_404(import_id)
    preview = None
    problem = None
    if imp.status == IMPORT_PENDING:
        try:
            preview = services.preview_percentile_import(g.membership.tenant_id, imp)
        except services.PercentileImportError as err:
            problem = err.message
    return render_template(
        "rates/percentile_import.html",
        imp=imp,
        preview=preview,
        problem=problem,
        form=ConfirmForm(),
        percentiles=PERCENTILES,
    )


@bp.route("/percentiles/imports/<int:import_id>/confirm", methods=["POST"])
@roles(MANAGERS)
def percentile_import_confirm(import_id: int):
    """Write a previewed percentile import, all rows or none."""
    imp = _import_or_404(import_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.apply_percentile_import(g.membership.tenant_id, g.actor.id, imp)
    except services.PercentileImportError as err:
        db.session.rollback()
        flash(f"Nothing was imported: {err.message}.", "danger")
        return redirect(url_for("rates.percentile_import", import_id=import_id))
    db.session.commit()
    from advocate.rates.benchmark import enqueue_firm

    enqueue_firm(g.membership.tenant_id)  # the caseload's percentiles changed
    flash(
        f"Imported {imp.row_count:,} percentile rows ({imp.inserted_count:,} new, "
        f"{imp.updated_count:,} updated).",
        "success",
    )
    return redirect(url_for("rates.percentiles"))


@bp.route("/percentiles/imports/<int:import_id>/discard", methods=["POST"])
@roles(MANAGERS)
def percentile_import_discard(import_id: int):
    """Throw away a pending percentile import."""
    imp = _import_or_404(import_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.discard_percentile_import(g.membership.tenant_id, g.actor.id, imp)
    except services.PercentileImportError as err:
        db.session.rollback()
        flash(err.message, "warning")
        return redirect(url_for("rates.percentile_import", import_id=import_id))
    db.session.commit()
    flash("The upload was discarded; nothing was imported.", "info")
    return redirect(url_for("rates.percentile_upload"))
