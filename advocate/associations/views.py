"""The firm's directory of professional associations."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from advocate.associations import bp, services
from advocate.associations.forms import AssociationForm
from advocate.associations.models import Association
from advocate.auth.access import MANAGERS, STAFF, has_role, roles
from advocate.extensions import db
from advocate.practices.forms import apply_errors
from advocate.practices.models import Practice
from advocate.practices.services import ValidationFailed
from advocate.practices.validators import SPECIALTIES
from tenants import require_tenant_id


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
