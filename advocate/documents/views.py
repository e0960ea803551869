"""Upload, list, download, delete and restore documents."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select

from advocate.audit.services import audit
from advocate.auth.access import MANAGERS, READERS, WORKERS, is_safe_next, roles
from advocate.documents import bp, services
from advocate.documents.forms import UploadForm
from advocate.documents.models import CATEGORIES, Document
from advocate.documents.owners import OwnerNotFound, OwnerType, load_owner
from advocate.extensions import db
from advocate.storage import (
    LocalStorage,
    ObjectNotFound,
    content_disposition,
    get_storage,
    tenant_of_key,
)

# Room for the multipart envelope and the other fields around the file.
FORM_OVERHEAD_BYTES = 256 * 1024


@bp.url_value_preprocessor
def _upload_request_limit(endpoint, values):
    # URL value preprocessors run before any before_request function, so this
    # lands before CSRF protection parses the body: the request may carry a
    # file of the full upload limit, and the service checks the file itself.
    if endpoint == "documents.upload" and request.method == "POST":
        request.max_content_length = services.max_upload_bytes() + FORM_OVERHEAD_BYTES


@bp.app_template_global("document_categories")
def _document_categories():
    return CATEGORIES


@bp.app_template_global("document_upload_limit")
def _document_upload_limit():
    return services.human_size(services.max_upload_bytes())


def owner_url(entry: OwnerType, owner) -> str:
    if entry.detail_url is not None:
        return entry.detail_url(owner)
    return url_for("documents.index", owner_type=entry.name, owner_id=owner.id)


def _owner_or_404(owner_type: str, owner_id) -> tuple[OwnerType, object]:
    try:
        entry, owner = load_owner(owner_type, owner_id)
    except OwnerNotFound:
        abort(404)
    m = g.membership
    if m.is_practice:
        practice_id = entry.practice_of(owner)
        if practice_id is None or practice_id != m.practice_id:
            abort(404)
    return entry, owner


def _document_or_404(document_id: int, *, deleted: bool = False) -> Document:
    doc = db.session.get(Document, document_id)
    if doc is None or doc.is_deleted != deleted or not services.can_read(g.membership, doc):
        abort(404)
    return doc


def _back(default: str) -> str:
    target = request.values.get("next")
    return target if is_safe_next(target) else default


def _default_back(doc: Document) -> str:
    try:
        entry, owner = services.owner_of(doc)
    except OwnerNotFound:
        return url_for("main.index")
    return owner_url(entry, owner)


def _audits(action: str):
    """Mark a view that writes its own PHI audit event (through the service or
    inline), as `@audited` marks the ones it audits."""

    def mark(view):
        view._audit_action = action
        return view

    return mark


@bp.route("/")
@roles(READERS)
@_audits("document.listed")
def index():
    """List one owner's documents."""
    entry, owner = _owner_or_404(
        request.args.get("owner_type", ""), request.args.get("owner_id", "")
    )
    page = db.paginate(
        services.documents_query(entry.name, owner.id),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    # File names can name patients: listing them is a PHI read.
    audit(
        "document.listed",
        object_type=entry.name,
        object_id=owner.id,
        is_phi=True,
        details={"count": page.total},
    )
    html = render_template(
        "documents/index.html",
        entry=entry,
        owner=owner,
        page=page,
        can_upload=services.can_change(g.membership),
        detail_url=entry.detail_url(owner) if entry.detail_url else None,
    )
    db.session.commit()  # after rendering: a commit would expire the loaded rows
    return html


def _render_upload(form: UploadForm, entry: OwnerType, owner, status: int = 200):
    return render_template("documents/upload.html", form=form, entry=entry, owner=owner), status


@bp.errorhandler(413)
def _too_large(err):
    """A request bigger than the upload limit. Raised while the body is parsed,
    before the log-in is even looked at: so this page shows no firm data."""
    back = urlsplit(request.referrer or "")
    back_url = back.path + (f"?{back.query}" if back.query else "")
    return render_template(
        "documents/too_large.html",
        limit=_document_upload_limit(),
        back_url=back_url if back.netloc in ("", request.host) and is_safe_next(back_url) else None,
    ), 413


@bp.route("/upload", methods=["GET", "POST"])
@roles(WORKERS)
def upload():
    """Upload a document to a practice, payer, policy, association or case."""
    # The owner rides in the query string (the panel's form action) or the form.
    entry, owner = _owner_or_404(
        request.values.get("owner_type", ""), request.values.get("owner_id", "")
    )
    back = _back(owner_url(entry, owner))
    form = UploadForm(formdata=request.form if request.method == "POST" else None)
    form.owner_type.data, form.owner_id.data, form.next.data = entry.name, str(owner.id), back
    if request.method == "GET":
        return _render_upload(form, entry, owner)

    upload_file = request.files.get("file")
    has_file = upload_file is not None and (upload_file.filename or upload_file.content_length)
    try:
        result = services.upload(
            tenant_id=g.membership.tenant_id,
            actor=g.actor,
            owner_type=entry.name,
            owner_id=owner.id,
            category=request.form.get("category", ""),
            stream=upload_file.stream if has_file else None,
            filename=upload_file.filename if has_file else None,
            note=request.form.get("note"),
        )
    except OwnerNotFound:
        db.session.rollback()
        abort(404)
    except services.DocumentError as err:
        db.session.rollback()
        for field_name, message in err.errors:
            field = getattr(form, field_name, None)
            if field is not None:
                field.errors = [*field.errors, message]
            else:
                flash(f"{field_name.capitalize()}: {message}", "danger")
        return _render_upload(form, entry, owner, err.status)
    key = result.document.storage_key
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        services.discard_object(key)
        raise
    flash(f"Uploaded “{result.document.filename}”.", "success")
    for warning in result.warnings:
        flash(warning, "warning")
    return redirect(back)


@bp.route("/<int:document_id>/download")
@roles(READERS)
@_audits("document.downloaded")
def download(document_id: int):
    """Send the reader to a short-lived, audited download link."""
    doc = _document_or_404(document_id)
    try:
        url = services.download_url(doc, actor=g.actor)
    except services.DocumentError as err:
        db.session.rollback()
        if err.status == 404:
            abort(404)
        flash(f"{doc.filename}: {err.errors[0][1]}.", "danger")
        return redirect(_default_back(doc))
    db.session.commit()
    return redirect(url)


@bp.route("/file/<token>")
@roles(READERS)
def local_file(token: str):
    """Stream a locally stored file for a signed, unexpired link, after
    checking access again."""
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        abort(404)
    try:
        info = storage.read_token(token)
    except ObjectNotFound:
        abort(404)
    if tenant_of_key(info["key"]) != g.membership.tenant_id:
        abort(404)
    doc = db.session.scalar(select(Document).where(Document.storage_key == info["key"]))
    if doc is None or doc.is_deleted or not services.can_read(g.membership, doc):
        abort(404)
    try:
        fh = storage.open(doc.storage_key)
    except ObjectNotFound:
        abort(404)
    response = send_file(
        fh,
        mimetype=info["content_type"],
        as_attachment=True,
        download_name=info["filename"],
        conditional=False,
        max_age=0,
    )
    response.headers["Content-Disposition"] = content_disposition(info["filename"])
    return response


@bp.route("/<int:document_id>/delete", methods=["POST"])
@roles(WORKERS)
def delete(document_id: int):
    """Delete a document (an admin can restore it for 30 days)."""
    doc = _document_or_404(document_id)
    back = _back(_default_back(doc))
    services.delete_document(doc, actor=g.actor)
    db.session.commit()
    flash(
        f"Deleted “{doc.filename}”. An admin can restore it for {services.RESTORE_DAYS} days.",
        "success",
    )
    return redirect(back)


@bp.route("/deleted")
@roles(MANAGERS)
def deleted():
    """List documents deleted in the last 30 days."""
    page = db.paginate(
        services.deleted_documents_query(),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template(
        "documents/deleted.html",
        page=page,
        restore_days=services.RESTORE_DAYS,
        restore_window=timedelta(days=services.RESTORE_DAYS),
    )


@bp.route("/<int:document_id>/restore", methods=["POST"])
@roles(MANAGERS)
def restore(document_id: int):
    """Restore a deleted document."""
    doc = _document_or_404(document_id, deleted=True)
    try:
        services.restore_document(doc, actor=g.actor)
    except services.DocumentError as err:
        db.session.rollback()
        flash(f"{doc.filename}: {err.errors[0][1]}.", "danger")
    else:
        db.session.commit()
        flash(f"Restored “{doc.filename}”.", "success")
    return redirect(url_for("documents.deleted"))
