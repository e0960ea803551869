"""Practices for firm staff: list, detail, add and edit; fee agreement
versions, authorizations, contacts and the practice's portal access."""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import exists, or_, select

from advocate.associations import services as association_services
from advocate.audit.services import audit
from advocate.auth.access import MANAGERS, STAFF, WORKERS, has_role, roles
from advocate.documents import documents_for, register_owner
from advocate.documents import services as document_services
from advocate.documents.models import Document
from advocate.documents.owners import OwnerNotFound
from advocate.extensions import db
from advocate.practices import activity, bp, portal, services
from advocate.practices.forms import (
    AuthorizationForm,
    ContactForm,
    FeeAgreementForm,
    NewPracticeForm,
    PortalInviteForm,
    PracticeForm,
    apply_errors,
)
from advocate.practices.models import (
    PRACTICE_STATUSES,
    FeeAgreement,
    Practice,
    PracticeAuthorization,
    PracticeContact,
)
from advocate.practices.services import ValidationFailed
from advocate.practices.validators import SPECIALTIES, US_STATES
from tenants.onboarding.models import Invitation
from tenants.onboarding.services import OnboardingError

# A practice's own records (signed fee agreements, letters of authorization, W-9):
# its practice users may read them.
register_owner(
    "practice",
    lambda pk: db.session.get(Practice, pk),
    lambda p: p.id,
    label="Practice",
    detail_url=lambda p: url_for("practices.detail", practice_id=p.id),
)


def practice_or_404(practice_id: int) -> Practice:
    """The practice of the firm in scope (the ORM adds the tenant filter)."""
    practice = db.session.scalar(select(Practice).where(Practice.id == practice_id))
    if practice is None:
        abort(404)
    return practice


def _child_or_404(model, child_id: int, practice: Practice):
    obj = db.session.scalar(
        select(model).where(model.id == child_id, model.practice_id == practice.id)
    )
    if obj is None:
        abort(404)
    return obj


def _today() -> date:
    return services.tenant_today(g.tenant)


def _valid_authorization_exists(today: date):
    a = PracticeAuthorization
    return exists().where(
        a.practice_id == Practice.id,
        a.revoked_at.is_(None),
        a.signed_on <= today,
        or_(a.expires_on.is_(None), a.expires_on >= today),
    )


@bp.route("/")
@roles(STAFF)
def index():
    """List the firm's practices with search, filters and pagination."""
    args = request.args
    today = _today()
    sort = args.get("sort", "name")
    direction = "desc" if args.get("dir") == "desc" else "asc"
    specialty = args.get("specialty") if args.get("specialty") in SPECIALTIES else None
    state = args.get("state") if args.get("state") in US_STATES else None
    status = args.get("status") if args.get("status") in PRACTICE_STATUSES else None
    q = services.list_query(
        tenant_id=g.tenant.id,
        q=args.get("q", "").strip() or None,
        status=status,
        specialty=specialty,
        state=state,
        sort=sort,
        direction=direction,
    )
    authorization = args.get("authorization")
    if authorization == "valid":
        q = q.where(_valid_authorization_exists(today))
    elif authorization == "missing":
        q = q.where(~_valid_authorization_exists(today))
    page = db.paginate(q, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    ids = [p.id for p in page.items]
    return render_template(
        "practices/index.html",
        page=page,
        auth_statuses=services.authorization_statuses(ids, today),
        agreements=services.current_agreements(ids, today),
        specialties=SPECIALTIES,
        states=sorted(US_STATES),
        statuses=PRACTICE_STATUSES,
        sort=sort,
        direction=direction,
        filtered=any(args.get(k) for k in ("q", "status", "specialty", "state", "authorization")),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles(MANAGERS)
def create():
    """Add a client practice."""
    form = NewPracticeForm()
    if form.is_submitted():
        form_ok = form.validate()
        # The service's rules run even when a field failed its form check, so
        # every problem shows at once.
        _clean, errors = services.clean_practice(form.data_for_service(), tenant_id=g.tenant.id)
        apply_errors(
            form,
            [
                (f, m)
                for f, m in errors
                if not getattr(form, f, None) or not getattr(form, f).errors
            ],
        )
        if form_ok and not errors:
            practice = services.create_practice(
                tenant_id=g.tenant.id, actor=g.actor, data=form.data_for_service()
            )
            db.session.commit()
            flash(f"{practice.name} added. Next: its fee agreement and authorization.", "success")
            return redirect(url_for("practices.detail", practice_id=practice.id))
    return render_template("practices/form.html", form=form, practice=None), (
        422 if form.errors else 200
    )


def _detail_context(practice: Practice) -> dict:
    today = _today()
    agreements = list(
        db.session.scalars(
            select(FeeAgreement)
            .where(FeeAgreement.practice_id == practice.id)
            .order_by(FeeAgreement.effective_date.desc())
        )
    )
    current = next((a for a in agreements if a.effective_date <= today), None)
    authorizations = list(
        db.session.scalars(
            select(PracticeAuthorization)
            .where(PracticeAuthorization.practice_id == practice.id)
            .order_by(PracticeAuthorization.signed_on.desc(), PracticeAuthorization.id.desc())
        )
    )
    contacts = list(
        db.session.scalars(
            select(PracticeContact)
            .where(PracticeContact.practice_id == practice.id)
            .order_by(PracticeContact.is_primary.desc(), PracticeContact.name)
        )
    )
    associations = association_services.for_specialty(practice.specialty)
    documents = documents_for("practice", practice.id)
    return {
        "practice": practice,
        "today": today,
        "auth_status": services.authorization_status(practice.id, today),
        "agreements": agreements,
        "current_agreement": current,
        "authorizations": authorizations,
        "contacts": contacts,
        "associations": associations,
        "documents": documents,
        # The signed authorization of each authorization row, when it is still on file.
        "auth_documents": {d.id: d for d in documents},
    }


def audit_document_listing(practice: Practice, documents: list) -> None:
    """File names can name patients: listing them is a PHI read (as documents.index)."""
    if documents:
        audit(
            "document.listed",
            object_type="practice",
            object_id=practice.id,
            is_phi=True,
            details={"count": len(documents)},
        )


def _guidance(associations: list) -> dict[int, list[Document]]:
    """The guidance documents of the listed associations, in one query."""
    ids = [a.id for a in associations]
    if not ids:
        return {}
    out: dict[int, list[Document]] = {}
    for doc in db.session.scalars(
        select(Document)
        .where(
            Document.owner_type == "association",
            Document.owner_id.in_(ids),
            Document.deleted_at.is_(None),
        )
        .order_by(Document.created_at.desc(), Document.id.desc())
    ):
        out.setdefault(doc.owner_id, []).append(doc)
    return out


def _render_detail(practice: Practice, *, contact_form=None, invite_form=None, code: int = 200):
    ctx = _detail_context(practice)
    ctx["members"] = services.practice_members(practice.id, tenant_id=g.tenant.id)
    ctx["invitations"] = list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.practice_id == practice.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Invitation.created_at.desc())
            .limit(50)
        )
    )
    ctx["events"] = [
        (e, activity.describe(e))
        for e in db.session.scalars(activity.feed_query(practice.id).limit(8))
    ]
    ctx["can_manage"] = has_role(*MANAGERS)
    ctx["can_upload"] = document_services.can_change(g.membership)
    ctx["guidance"] = _guidance(ctx["associations"])
    ctx["can_work"] = has_role(*WORKERS)
    ctx["case_summary"] = portal.case_summary(practice.id)
    ctx["cases_by_status"] = portal.open_cases_by_status(practice.id)
    ctx["recent_cases"] = list(
        db.session.scalars(portal.portal_cases_query(practice.id, {}).limit(5))
    )
    ctx["contact_form"] = contact_form or ContactForm()
    ctx["invite_form"] = invite_form or PortalInviteForm()
    html = render_template("practices/detail.html", **ctx)
    audit_document_listing(practice, ctx["documents"])
    db.session.commit()  # the audit row; after rendering, so nothing shown is expired
    return html, code


@bp.route("/<int:practice_id>")
@roles(STAFF)
def detail(practice_id: int):
    """Show a practice: identity, fee agreement, authorization, cases, people."""
    return _render_detail(practice_or_404(practice_id))


@bp.route("/<int:practice_id>/edit", methods=["GET", "POST"])
@roles(MANAGERS)
def edit(practice_id: int):
    """Change a practice's details (a blank TIN keeps the stored one)."""
    practice = practice_or_404(practice_id)
    form = PracticeForm(obj=practice)
    if request.method == "GET":
        form.tin.data = ""
    if form.is_submitted():
        form_ok = form.validate()
        _clean, errors = services.clean_practice(
            form.data_for_service(), tenant_id=g.tenant.id, existing=practice
        )
        apply_errors(
            form,
            [
                (f, m)
                for f, m in errors
                if not getattr(form, f, None) or not getattr(form, f).errors
            ],
        )
        if form_ok and not errors:
            changed = services.update_practice(
                practice, actor=g.actor, data=form.data_for_service()
            )
            db.session.commit()
            flash("Saved." if changed else "Nothing changed.", "success" if changed else "info")
            return redirect(url_for("practices.detail", practice_id=practice.id))
    return render_template(
        "practices/form.html",
        form=form,
        practice=practice,
        auth_status=services.authorization_status(practice.id, _today()),
    ), (422 if form.errors else 200)


@bp.route("/<int:practice_id>/contacts", methods=["POST"])
@roles(MANAGERS)
def add_contact(practice_id: int):
    """Add a contact person at the practice."""
    practice = practice_or_404(practice_id)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = services.add_contact(practice, actor=g.actor, data=form.data_for_service())
        except ValidationFailed as err:
            db.session.rollback()
            apply_errors(form, err.errors, prefix="contact_")
        else:
            db.session.commit()
            flash(f"Contact {contact.name} added.", "success")
            return redirect(url_for("practices.detail", practice_id=practice.id) + "#contacts")
    return _render_detail(practice, contact_form=form, code=422)


@bp.route("/<int:practice_id>/contacts/<int:contact_id>/delete", methods=["POST"])
@roles(MANAGERS)
def delete_contact(practice_id: int, contact_id: int):
    """Remove a contact person."""
    practice = practice_or_404(practice_id)
    contact = _child_or_404(PracticeContact, contact_id, practice)
    services.remove_contact(contact, actor=g.actor)
    db.session.commit()
    flash("Contact removed.", "success")
    return redirect(url_for("practices.detail", practice_id=practice.id) + "#contacts")


@bp.route("/<int:practice_id>/agreements/new", methods=["GET", "POST"])
@roles(MANAGERS)
def new_agreement(practice_id: int):
    """Add a version of the practice's fee agreement."""
    practice = practice_or_404(practice_id)
    today = _today()
    current = services.agreement_on(practice.id, today)
    form = FeeAgreementForm()
    if request.method == "GET" and current is not None:
        for name in ("percent", "basis", "minimum", "cap", "idr_fee_bearer", "billing_cadence"):
            getattr(form, name).data = getattr(current, name)
    if form.validate_on_submit():
        try:
            agreement = services.add_fee_agreement(
                practice,
                actor=g.actor,
                effective_date=form.effective_date.data,
                percent=form.percent.data,
                basis=form.basis.data,
                minimum=form.minimum.data,
                cap=form.cap.data,
                idr_fee_bearer=form.idr_fee_bearer.data,
                billing_cadence=form.billing_cadence.data,
                notes=form.notes.data,
            )
        except ValidationFailed as err:
            db.session.rollback()
            apply_errors(form, err.errors)
        else:
            db.session.commit()
            flash(
                f"Fee agreement effective {agreement.effective_date.isoformat()} saved.", "success"
            )
            return redirect(url_for("practices.detail", practice_id=practice.id) + "#fee-agreement")
    return render_template(
        "practices/agreement_form.html",
        form=form,
        practice=practice,
        current=current,
        auth_status=services.authorization_status(practice.id, today),
    ), (422 if form.errors else 200)


@bp.route("/<int:practice_id>/agreements/<int:agreement_id>/withdraw", methods=["POST"])
@roles(MANAGERS)
def withdraw_agreement(practice_id: int, agreement_id: int):
    """Withdraw a fee agreement version that has not taken effect yet."""
    practice = practice_or_404(practice_id)
    agreement = _child_or_404(FeeAgreement, agreement_id, practice)
    try:
        services.delete_scheduled_agreement(agreement, actor=g.actor, today=_today())
    except ValidationFailed as err:
        db.session.rollback()
        flash(err.errors[0][1], "danger")
    else:
        db.session.commit()
        flash("Scheduled version withdrawn.", "success")
    return redirect(url_for("practices.detail", practice_id=practice_id) + "#fee-agreement")


@bp.route("/<int:practice_id>/authorizations/new", methods=["GET", "POST"])
@roles(MANAGERS)
def new_authorization(practice_id: int):
    """Record a signed letter of authorization."""
    practice = practice_or_404(practice_id)
    today = _today()
    form = AuthorizationForm()
    if form.validate_on_submit():
        try:
            services.add_authorization(
                practice,
                actor=g.actor,
                today=today,
                signed_on=form.signed_on.data,
                expires_on=form.expires_on.data,
                scope=form.scope.data,
                payer_ids=form.payer_ids.data,
                payer_names=form.payer_names.data,
                notes=form.notes.data,
            )
        except ValidationFailed as err:
            db.session.rollback()
            apply_errors(form, err.errors)
        else:
            db.session.commit()
            flash("Authorization recorded.", "success")
            return redirect(url_for("practices.detail", practice_id=practice.id) + "#authorization")
    return render_template(
        "practices/authorization_form.html",
        form=form,
        practice=practice,
        auth_status=services.authorization_status(practice.id, today),
    ), (422 if form.errors else 200)


@bp.route("/<int:practice_id>/authorizations/<int:authorization_id>/document", methods=["POST"])
@roles(MANAGERS)
def authorization_document(practice_id: int, authorization_id: int):
    """Attach the signed letter of authorization (stored as a practice document)."""
    practice = practice_or_404(practice_id)
    auth = _child_or_404(PracticeAuthorization, authorization_id, practice)
    back = url_for("practices.detail", practice_id=practice.id) + "#authorization"
    upload_file = request.files.get("file")
    has_file = upload_file is not None and bool(upload_file.filename)
    try:
        result = document_services.upload(
            tenant_id=g.tenant.id,
            actor=g.actor,
            owner_type="practice",
            owner_id=practice.id,
            category="authorization",
            stream=upload_file.stream if has_file else None,
            filename=upload_file.filename if has_file else None,
            note=f"Signed authorization of {auth.signed_on.isoformat()}",
        )
    except OwnerNotFound:
        db.session.rollback()
        abort(404)
    except document_services.DocumentError as err:
        db.session.rollback()
        for _field, message in err.errors:
            flash(f"Signed authorization: {message}.", "danger")
        return redirect(back)
    services.attach_authorization_document(auth, result.document, actor=g.actor)
    key = result.document.storage_key
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        document_services.discard_object(key)
        raise
    flash(f"Signed authorization “{result.document.filename}” attached.", "success")
    for warning in result.warnings:
        flash(warning, "warning")
    return redirect(back)


@bp.route("/<int:practice_id>/authorizations/<int:authorization_id>/revoke", methods=["POST"])
@roles(MANAGERS)
def revoke_authorization(practice_id: int, authorization_id: int):
    """Mark an authorization revoked (the practice withdrew it)."""
    practice = practice_or_404(practice_id)
    auth = _child_or_404(PracticeAuthorization, authorization_id, practice)
    services.revoke_authorization(auth, actor=g.actor)
    db.session.commit()
    flash("Authorization revoked.", "success")
    return redirect(url_for("practices.detail", practice_id=practice_id) + "#authorization")


@bp.route("/<int:practice_id>/portal/invite", methods=["POST"])
@roles(MANAGERS)
def invite_member(practice_id: int):
    """Invite someone at the practice to its read-only portal."""
    practice = practice_or_404(practice_id)
    form = PortalInviteForm()
    if form.validate_on_submit():
        try:
            inv, _raw = services.invite_member(
                practice,
                tenant=g.tenant,
                actor=g.actor,
                actor_membership=g.membership,
                email=form.invite_email.data,
                role=form.invite_role.data,
                name=form.invite_name.data,
            )
        except OnboardingError as err:
            db.session.rollback()
            apply_errors(form, [(err.field or "email", err.message)], prefix="invite_")
        else:
            db.session.commit()
            msg = f"Invitation sent to {inv.email}."
            if not current_app.config.get("SMTP_HOST"):
                msg += (
                    " No mail server is configured: the message is in the instance outbox folder."
                )
            flash(msg, "success")
            return redirect(url_for("practices.detail", practice_id=practice.id) + "#portal")
    return _render_detail(practice, invite_form=form, code=422)


def _member_or_404(practice: Practice, membership_id: int):
    m = services.practice_member(practice.id, membership_id, tenant_id=g.tenant.id)
    if m is None:
        abort(404)
    return m


@bp.route("/<int:practice_id>/portal/<int:membership_id>/deactivate", methods=["POST"])
@roles(MANAGERS)
def deactivate_member(practice_id: int, membership_id: int):
    """End a practice person's portal access (and their sessions)."""
    practice = practice_or_404(practice_id)
    m = _member_or_404(practice, membership_id)
    try:
        ended = services.remove_member(practice, m, actor_membership=g.membership)
    except OnboardingError as err:
        db.session.rollback()
        flash(err.message, "danger")
    else:
        db.session.commit()
        flash(f"{m.user.name} no longer has access; {ended} session(s) ended.", "success")
    return redirect(url_for("practices.detail", practice_id=practice_id) + "#portal")


@bp.route("/<int:practice_id>/portal/<int:membership_id>/reactivate", methods=["POST"])
@roles(MANAGERS)
def reactivate_member(practice_id: int, membership_id: int):
    """Give a practice person their portal access back."""
    practice = practice_or_404(practice_id)
    m = _member_or_404(practice, membership_id)
    try:
        services.restore_member(practice, m, actor_membership=g.membership)
    except OnboardingError as err:
        db.session.rollback()
        flash(err.message, "danger")
    else:
        db.session.commit()
        flash(f"{m.user.name} can log in again.", "success")
    return redirect(url_for("practices.detail", practice_id=practice_id) + "#portal")
