"""Payer directory, contacts, OON policy versions and the CSV import.

Staff read; owners and admins change payers and policies and import lists;
advocates (who talk to payer representatives) also keep contacts current.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

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

from advocate.audit.models import AuditEvent
from advocate.auth.access import MANAGERS, STAFF, WORKERS, roles
from advocate.csvimport import discard_stash, load_stash, stash_upload
from advocate.documents import documents_for, register_owner
from advocate.extensions import db
from advocate.payers import bp, importer, services
from advocate.payers.defaults import APPEAL_LEVEL_NAMES, PLAN_TYPES, PRICING_METHODS
from advocate.payers.forms import (
    ConfirmImportForm,
    ContactForm,
    ImportForm,
    PayerForm,
    PolicyForm,
    apply_errors,
    has_errors,
    policy_form_values,
)
from advocate.payers.models import Payer, PayerContact, PayerPolicy
from advocate.payers.validation import FieldErrors
from tenants import require_tenant_id

# Documents (policy bulletins, letters, call notes) attach to a payer or to one
# policy version; they are firm-level (no practice), so practice users never see them.
register_owner(
    "payer",
    lambda pk: db.session.get(Payer, pk),
    lambda p: None,
    label="Payer",
    detail_url=lambda p: url_for("payers.detail", payer_id=p.id),
)
register_owner(
    "payer_policy",
    lambda pk: db.session.get(PayerPolicy, pk),
    lambda p: None,
    label="Payer policy",
    detail_url=lambda p: url_for("payers.policy_detail", payer_id=p.payer_id, policy_id=p.id),
)


def _today() -> date:
    """Today in the firm's time zone (a policy date is a calendar date there)."""
    try:
        tz = ZoneInfo(g.membership.tenant.timezone or "America/New_York")
    except (KeyError, ValueError):
        tz = ZoneInfo("America/New_York")
    return datetime.now(tz).date()


def _page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def _payer_or_404(payer_id: int) -> Payer:
    payer = db.session.get(Payer, payer_id)
    if payer is None:
        abort(404)
    return payer


def _contact_or_404(payer: Payer, payer_contact_id: int) -> PayerContact:
    contact = db.session.get(PayerContact, payer_contact_id)
    if contact is None or contact.payer_id != payer.id:
        abort(404)
    return contact


def _policy_or_404(payer: Payer, policy_id: int) -> PayerPolicy:
    policy = db.session.get(PayerPolicy, policy_id)
    if policy is None or policy.payer_id != payer.id:
        abort(404)
    return policy


def _save(form, action):
    """Run a service on a submitted form: the object, or None with every
    error on the form and nothing kept."""
    form.validate()
    try:
        obj = action()
    except FieldErrors as err:
        db.session.rollback()
        apply_errors(form, err, getattr(form, "_level_rows", None))
        return None
    if has_errors(form):
        db.session.rollback()
        return None
    return obj


def _can(allowed) -> bool:
    return g.membership.role in allowed


# -- directory --------------------------------------------------------------


@bp.route("/")
@roles(STAFF)
def index():
    """List the firm's payers, searchable by name or payer ID."""
    q = request.args.get("q", "").strip()[:100]
    plan_type = request.args.get("plan_type", "")
    page = db.paginate(
        services.search_payers(require_tenant_id(), q, plan_type),
        per_page=_page_size(),
        error_out=False,
    )
    ids = [p.id for p in page.items]
    contact_counts, policy_types = {}, {}
    if ids:
        contact_counts = dict(
            db.session.execute(
                select(PayerContact.payer_id, func.count())
                .where(PayerContact.payer_id.in_(ids))
                .group_by(PayerContact.payer_id)
            ).all()
        )
        for payer_id, pt in db.session.execute(
            select(PayerPolicy.payer_id, PayerPolicy.plan_type)
            .where(PayerPolicy.payer_id.in_(ids))
            .distinct()
        ):
            policy_types.setdefault(payer_id, set()).add(pt)
    return render_template(
        "payers/index.html",
        page=page,
        q=q,
        plan_type=plan_type,
        plan_types=PLAN_TYPES,
        contact_counts=contact_counts,
        policy_types=policy_types,
        can_manage=_can(MANAGERS),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles(MANAGERS)
def create():
    """Add a payer to the directory."""
    form = PayerForm()
    if request.method == "POST":
        payer = _save(
            form,
            lambda: services.create_payer(
                tenant_id=require_tenant_id(), actor_id=g.actor.id, data=form.service_data()
            ),
        )
        if payer is not None:
            db.session.commit()
            flash(f"{payer.name} added. Record its OON policy next.", "success")
            return redirect(url_for("payers.detail", payer_id=payer.id))
    return render_template("payers/form.html", form=form, payer=None), (
        422 if has_errors(form) else 200
    )


@bp.route("/<int:payer_id>")
@roles(STAFF)
def detail(payer_id: int):
    """Show a payer: addresses, numbers, contacts and the policies in effect today."""
    payer = _payer_or_404(payer_id)
    contacts = db.paginate(
        select(PayerContact)
        .where(PayerContact.payer_id == payer.id)
        .order_by(PayerContact.name, PayerContact.id),
        per_page=_page_size(),
        error_out=False,
    )
    today = _today()
    versions = services.policy_versions(payer.id)
    current = services.current_versions(versions, today)
    counts: dict[str, int] = {}
    for v in versions:
        counts[v.plan_type] = counts.get(v.plan_type, 0) + 1
    return render_template(
        "payers/detail.html",
        payer=payer,
        documents=documents_for("payer", payer.id),
        contacts=contacts,
        current=current,
        version_counts=counts,
        plan_types=PLAN_TYPES,
        today=today,
        can_manage=_can(MANAGERS),
        can_work=_can(WORKERS),
    )


@bp.route("/<int:payer_id>/edit", methods=["GET", "POST"])
@roles(MANAGERS)
def edit(payer_id: int):
    """Change a payer's directory entry."""
    payer = _payer_or_404(payer_id)
    form = PayerForm(obj=payer)
    if request.method == "POST":
        saved = _save(
            form,
            lambda: services.update_payer(payer, actor_id=g.actor.id, data=form.service_data()),
        )
        if saved is not None:
            db.session.commit()
            flash(f"{saved.name} saved.", "success")
            return redirect(url_for("payers.detail", payer_id=saved.id))
        payer = _payer_or_404(payer_id)
    return render_template("payers/form.html", form=form, payer=payer), (
        422 if has_errors(form) else 200
    )


# -- contacts ---------------------------------------------------------------


@bp.route("/<int:payer_id>/contacts/new", methods=["GET", "POST"])
@roles(WORKERS)
def contact_create(payer_id: int):
    """Add a contact at the payer."""
    payer = _payer_or_404(payer_id)
    form = ContactForm()
    if request.method == "POST":
        contact = _save(
            form, lambda: services.add_contact(payer, actor_id=g.actor.id, data=form.service_data())
        )
        if contact is not None:
            db.session.commit()
            flash(f"{contact.name} added to {payer.name}.", "success")
            return redirect(url_for("payers.detail", payer_id=payer_id))
        payer = _payer_or_404(payer_id)
    return render_template("payers/contact_form.html", form=form, payer=payer, contact=None), (
        422 if has_errors(form) else 200
    )


@bp.route("/<int:payer_id>/contacts/<int:payer_contact_id>/edit", methods=["GET", "POST"])
@roles(WORKERS)
def contact_edit(payer_id: int, payer_contact_id: int):
    """Change a contact at the payer."""
    payer = _payer_or_404(payer_id)
    contact = _contact_or_404(payer, payer_contact_id)
    form = ContactForm(obj=contact)
    if request.method == "POST":
        saved = _save(
            form,
            lambda: services.update_contact(contact, actor_id=g.actor.id, data=form.service_data()),
        )
        if saved is not None:
            db.session.commit()
            flash(f"{saved.name} saved.", "success")
            return redirect(url_for("payers.detail", payer_id=payer_id))
        payer = _payer_or_404(payer_id)
        contact = _contact_or_404(payer, payer_contact_id)
    return render_template("payers/contact_form.html", form=form, payer=payer, contact=contact), (
        422 if has_errors(form) else 200
    )


@bp.route("/<int:payer_id>/contacts/<int:payer_contact_id>/delete", methods=["POST"])
@roles(WORKERS)
def contact_delete(payer_id: int, payer_contact_id: int):
    """Remove a contact from the payer."""
    payer = _payer_or_404(payer_id)
    contact = _contact_or_404(payer, payer_contact_id)
    name = contact.name
    services.delete_contact(contact, actor_id=g.actor.id)
    db.session.commit()
    flash(f"{name} removed.", "success")
    return redirect(url_for("payers.detail", payer_id=payer_id))


# -- policies ---------------------------------------------------------------


def _history(payer_id: int, policy_ids: list[int]):
    """Audit events of these policy versions, newest first, paginated."""
    tid = require_tenant_id()
    # The audit table is not ORM-scoped: the tenant filter is explicit.
    q = (
        select(AuditEvent)
        .where(
            AuditEvent.tenant_id == tid,
            AuditEvent.object_type == PayerPolicy.__tablename__,
            AuditEvent.object_id.in_([str(i) for i in policy_ids] or ["-"]),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    return db.paginate(
        q, per_page=_page_size(), error_out=False, page=request.args.get("page", 1, type=int)
    )


@bp.route("/<int:payer_id>/policies")
@roles(STAFF)
def policies(payer_id: int):
    """Show every version of the payer's OON policies and the history of changes."""
    payer = _payer_or_404(payer_id)
    plan_type = request.args.get("plan_type", "")
    if plan_type not in PLAN_TYPES:
        plan_type = ""
    today = _today()
    all_versions = services.policy_versions(payer.id)
    versions = [v for v in all_versions if not plan_type or v.plan_type == plan_type]
    current = services.current_versions(all_versions, today)
    grouped: dict[str, list[PayerPolicy]] = {}
    for v in versions:
        grouped.setdefault(v.plan_type, []).append(v)
    history = _history(payer.id, [v.id for v in versions])
    by_id = {v.id: v for v in all_versions}
    return render_template(
        "payers/policies.html",
        payer=payer,
        grouped=grouped,
        current=current,
        history=history,
        by_id=by_id,
        plan_type=plan_type,
        plan_types=PLAN_TYPES,
        today=today,
        can_manage=_can(MANAGERS),
    )


@bp.route("/<int:payer_id>/policies/<int:policy_id>")
@roles(STAFF)
def policy_detail(payer_id: int, policy_id: int):
    """Show one version of a policy and its changes."""
    payer = _payer_or_404(payer_id)
    policy = _policy_or_404(payer, policy_id)
    today = _today()
    in_effect = services.policy_for(payer, policy.plan_type, today)
    history = _history(payer.id, [policy.id])
    return render_template(
        "payers/policy_detail.html",
        payer=payer,
        policy=policy,
        documents=documents_for("payer_policy", policy.id),
        can_work=_can(WORKERS),
        in_effect=in_effect,
        history=history,
        by_id={policy.id: policy},
        today=today,
        can_manage=_can(MANAGERS),
    )


def _policy_form_page(form, payer, policy, plan_type, status=200):
    form.ensure_blank_rows()
    return render_template(
        "payers/policy_form.html",
        form=form,
        payer=payer,
        policy=policy,
        plan_type=plan_type,
        plan_types=PLAN_TYPES,
        pricing_methods=PRICING_METHODS,
        level_names=APPEAL_LEVEL_NAMES,
    ), status


def _policy_changed(payer_id: int) -> None:
    """A policy version was saved: the payer's open cases' deadlines (timely
    filing, appeal windows) and the firm's benchmarks (expected payment) are
    recomputed in the background (now, without Redis)."""
    from advocate.deadlines.case_services import enqueue_refresh
    from advocate.rates.benchmark import enqueue_firm

    enqueue_refresh(g.tenant.id, payer_id=payer_id)
    enqueue_firm(g.tenant.id)


@bp.route("/<int:payer_id>/policies/new", methods=["GET", "POST"])
@roles(MANAGERS)
def policy_create(payer_id: int):
    """Record a new version of the payer's policy for a plan type."""
    payer = _payer_or_404(payer_id)
    if request.method == "POST":
        form = PolicyForm()
        data, _rows = form.service_data()
        policy = _save(
            form,
            lambda: services.create_policy(payer, actor_id=g.actor.id, data=data, today=_today()),
        )
        if policy is not None:
            db.session.commit()
            _policy_changed(payer_id)
            flash(
                f"{policy.plan_type_label} policy from {policy.effective_date.isoformat()} saved.",
                "success",
            )
            return redirect(url_for("payers.policy_detail", payer_id=payer_id, policy_id=policy.id))
        payer = _payer_or_404(payer_id)
        return _policy_form_page(form, payer, None, form.plan_type.data, 422)
    plan_type = request.args.get("plan_type", "")
    if plan_type not in PLAN_TYPES:
        plan_type = (payer.plan_types or ["erisa_self_funded"])[0]
    form = PolicyForm(data=policy_form_values(services.prefill_policy(payer, plan_type)))
    return _policy_form_page(form, payer, None, plan_type)


@bp.route("/<int:payer_id>/policies/<int:policy_id>/edit", methods=["GET", "POST"])
@roles(MANAGERS)
def policy_edit(payer_id: int, policy_id: int):
    """Correct a version of the payer's policy (the change is kept in its history)."""
    payer = _payer_or_404(payer_id)
    policy = _policy_or_404(payer, policy_id)
    if request.method == "POST":
        form = PolicyForm()
        data, _rows = form.service_data()
        saved = _save(
            form,
            lambda: services.update_policy(policy, actor_id=g.actor.id, data=data, today=_today()),
        )
        if saved is not None:
            db.session.commit()
            _policy_changed(payer_id)
            flash("Policy version saved.", "success")
            return redirect(url_for("payers.policy_detail", payer_id=payer_id, policy_id=policy_id))
        payer = _payer_or_404(payer_id)
        policy = _policy_or_404(payer, policy_id)
        return _policy_form_page(form, payer, policy, form.plan_type.data, 422)
    form = PolicyForm(data=policy_form_values(services.policy_to_form_data(policy)))
    return _policy_form_page(form, payer, policy, policy.plan_type)


# -- CSV import -------------------------------------------------------------


def _import_page(form, status=200):
    return render_template(
        "payers/import.html",
        form=form,
        columns=importer.COLUMNS,
        max_mb=importer.MAX_BYTES // (1024 * 1024),
    ), status


@bp.route("/import", methods=["GET", "POST"])
@roles(MANAGERS)
def import_upload():
    """Upload a payer list: shows what it would do, imports nothing yet."""
    form = ImportForm()
    if request.method == "GET":
        return _import_page(form)
    form.validate()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        form.file.errors = ["Choose a CSV file to upload."]
        return _import_page(form, 422)
    data = upload.read(importer.MAX_BYTES + 1)
    preview = importer.parse(data)
    plan = importer.plan(preview) if preview.ok else {}
    confirm = None
    if preview.ok:
        stash = stash_upload(
            kind=importer.KIND, data=data, filename=upload.filename, actor_id=g.actor.id
        )
        db.session.commit()
        confirm = ConfirmImportForm(token=stash.token)
    return render_template(
        "payers/import_preview.html",
        preview=preview,
        plan=plan,
        confirm=confirm,
        filename=upload.filename,
        rows=preview.first(importer.PREVIEW_ROWS),
        preview_rows=importer.PREVIEW_ROWS,
        columns=importer.COLUMNS,
    ), (200 if preview.ok else 422)


@bp.route("/import/confirm", methods=["POST"])
@roles(MANAGERS)
def import_confirm():
    """Import the previewed file: every row, or none."""
    form = ConfirmImportForm()
    form.validate()
    stash = load_stash(kind=importer.KIND, token=form.token.data, actor_id=g.actor.id)
    if stash is None:
        flash("That upload has expired or is not yours. Upload the file again.", "warning")
        return redirect(url_for("payers.import_upload"))
    preview = importer.parse(stash.data)
    filename = stash.filename
    try:
        result = importer.import_payers(preview, tenant_id=require_tenant_id(), actor_id=g.actor.id)
    except importer.ImportRefused:
        db.session.rollback()
        return render_template(
            "payers/import_preview.html",
            preview=preview,
            plan={},
            confirm=None,
            filename=filename,
            rows=preview.first(importer.PREVIEW_ROWS),
            preview_rows=importer.PREVIEW_ROWS,
            columns=importer.COLUMNS,
        ), 422
    discard_stash(stash)
    db.session.commit()
    flash(
        f"Imported {filename or 'the file'}: {result.created} payer(s) added, {result.updated} updated, "
        f"{result.unchanged} unchanged; {result.contacts_added} contact(s) added, "
        f"{result.contacts_updated} updated.",
        "success",
    )
    return redirect(url_for("payers.index"))


@bp.route("/import/template.csv")
@roles(MANAGERS)
def import_template():
    """Download an empty payer list with every column."""
    body = importer.PAYER_CSV.template_header()
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=payers-template.csv"},
    )
