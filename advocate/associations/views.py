"""The firm's directory of professional associations."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from advocate.associations import bp, services
from advocate.associations.forms import AssociationForm
from advocate.associations.models import Association
from advocate.audit.services import audit
from advocate.auth.access import MANAGERS, STAFF, has_role, roles
from advocate.documents import documents_query, register_owner
from advocate.documents import services as document_services
from advocate.extensions import db
from advocate.practices.forms import apply_errors
from advocate.practices.models import Practice
from advocate.practices.services import ValidationFailed
from advocate.practices.validators import SPECIALTIES
from tenants import require_tenant_id

# Guidance documents and position papers: firm-level (no practice), so only
# firm staff read them.
register_owner(
    "association",
    lambda pk: db.session.get(Association, pk),
    lambda a: None,
    label="Association",
    detail_url=lambda a: url_for("associations.detail", association_id=a.id),
)


def association_or_404(association_id: int) -> Association:
    assoc = db.session.scalar(select(Association).where(Association.id == association_id))
    if assoc is None:
        abort(404)
    return assoc


@bp.route("/")
@roles(STAFF)
def index():
    """List the firm's professional associations by specialty."""
    specialty = (
        request.args.get("specialty") if request.args.get("specialty") in SPECIALTIES else None
    )
    q = request.args.get("q", "").strip() or None
    page = db.paginate(
        services.list_query(tenant_id=require_tenant_id(), q=q, specialty=specialty),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    specialties = {a.specialty for a in page.items}
    practice_counts = (
        dict(
            db.session.execute(
                select(Practice.specialty, func.count())
                .where(Practice.specialty.in_(specialties))
                .group_by(Practice.specialty)
            ).all()
        )
        if specialties
        else {}
    )
    return render_template(
        "associations/index.html",
        page=page,
        specialties=SPECIALTIES,
        practice_counts=practice_counts,
        can_manage=has_role(*MANAGERS),
        filtered=bool(q or specialty),
    )


@bp.route("/<int:association_id>")
@roles(STAFF)
def detail(association_id: int):
    """Show an association with its guidance documents."""
    assoc = association_or_404(association_id)
    documents = db.paginate(
        documents_query("association", assoc.id),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    practices = db.session.scalar(
        select(func.count()).select_from(Practice).where(Practice.specialty == assoc.specialty)
    )
    html = render_template(
        "associations/detail.html",
        association=assoc,
        documents=documents,
        practice_count=practices,
        can_manage=has_role(*MANAGERS),
        can_upload=document_services.can_change(g.membership),
    )
    if documents.items:
        # File names are shown: audited as documents.index does, in case one names a patient.
        audit(
            "document.listed",
            object_type="association",
            object_id=assoc.id,
            is_phi=True,
            details={"count": documents.total},
        )
        db.session.commit()
    return html


@bp.route("/new", methods=["GET", "POST"])
@roles(MANAGERS)
def create():
    """Add an association to the directory."""
    form = AssociationForm()
    if request.method == "GET" and request.args.get("specialty") in SPECIALTIES:
        form.specialty.data = request.args["specialty"]
    if form.validate_on_submit():
        try:
            assoc = services.create(tenant_id=require_tenant_id(), data=form.data)
        except ValidationFailed as err:
            db.session.rollback()
            apply_errors(form, err.errors)
        else:
            db.session.commit()
            flash(f"{assoc.name} added.", "success")
            return redirect(url_for("associations.index", specialty=assoc.specialty))
    return render_template("associations/form.html", form=form, association=None), (
        422 if form.errors else 200
    )


@bp.route("/<int:association_id>/edit", methods=["GET", "POST"])
@roles(MANAGERS)
def edit(association_id: int):
    """Change an association's details."""
    assoc = association_or_404(association_id)
    form = AssociationForm(obj=assoc)
    if form.validate_on_submit():
        try:
            changed = services.update(assoc, data=form.data)
        except ValidationFailed as err:
            db.session.rollback()
            apply_errors(form, err.errors)
        else:
            db.session.commit()
            flash("Saved." if changed else "Nothing changed.", "success" if changed else "info")
            return redirect(url_for("associations.index", specialty=assoc.specialty))
    return render_template("associations/form.html", form=form, association=assoc), (
        422 if form.errors else 200
    )


@bp.route("/<int:association_id>/delete", methods=["POST"])
@roles(MANAGERS)
def delete(association_id: int):
    """Remove an association from the directory."""
    assoc = association_or_404(association_id)
    name = assoc.name
    services.delete(assoc)
    db.session.commit()
    flash(f"{name} removed from the directory.", "success")
    return redirect(url_for("associations.index"))
