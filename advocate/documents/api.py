"""Documents over the JSON API: upload (multipart), list, read, and a
short-lived signed download link (S3 presigned, or a signed local link)."""

from __future__ import annotations

from typing import Literal

from flask import g, jsonify, request, send_file, url_for
from sqlalchemy import select

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import Param, describe
from advocate.api.pagination import CURSOR_PARAMS, cursor_page
from advocate.api.schema import CursorPage, Out
from advocate.audit.services import audit
from advocate.auth.access import STAFF, WORKERS, public, roles
from advocate.documents import services
from advocate.documents.models import CATEGORIES, Document
from advocate.documents.owners import KNOWN_OWNER_TYPES, OwnerNotFound, load_owner
from advocate.extensions import db
from advocate.storage import (
    LocalStorage,
    ObjectNotFound,
    content_disposition,
    get_storage,
    tenant_of_key,
)
from tenants import tenant_scope

CATEGORY_NAMES = [c[0] if isinstance(c, tuple) else c for c in CATEGORIES]


class DocumentOut(Out):
    """A document's record (its file is fetched through a download link)."""

    id: int
    owner_type: Literal[KNOWN_OWNER_TYPES]
    owner_id: int
    category: str
    filename: str
    note: str | None
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    duplicate_of_id: int | None
    created_at: str | None


class DocumentUploaded(DocumentOut):
    """The uploaded document, with warnings (e.g. a duplicate of another)."""

    warnings: list[str]


class DownloadLink(Out):
    """A short-lived link to the file (no token needed to follow it)."""

    url: str
    expires_in: int


def document_json(d: Document) -> dict:
    return {
        "id": d.id,
        "owner_type": d.owner_type,
        "owner_id": d.owner_id,
        "category": d.category,
        "filename": d.filename,
        "note": d.note,
        "kind": d.kind,
        "content_type": d.content_type,
        "size_bytes": d.size_bytes,
        "sha256": d.sha256,
        "duplicate_of_id": d.duplicate_of_id,
        "created_at": d.created_at.isoformat() if d.created_at else None,
    }


def _owner(owner_type: str, owner_id: str):
    try:
        return load_owner(owner_type, owner_id)
    except OwnerNotFound:
        api_error(
            404, "no such owner", [{"field": "owner_id", "message": "no such record in your firm"}]
        )


def _document_or_404(document_id: int) -> Document:
    doc = db.session.get(Document, document_id)
    if doc is None or doc.is_deleted or not services.can_read(g.membership, doc):
        api_error(404, "no such document")
    return doc


OWNER_PARAMS = [
    Param(
        "owner_type", "What the documents belong to.", required=True, enum=list(KNOWN_OWNER_TYPES)
    ),
    Param("owner_id", "Its id.", "integer", required=True),
]


@bp.route("/documents", methods=["GET"])
@roles(STAFF)
@describe(
    query=[*OWNER_PARAMS, *CURSOR_PARAMS], responses={200: CursorPage[DocumentOut]}, errors=(404,)
)
def documents_list():
    """One owner's documents, newest first."""
    entry, owner = _owner(request.args.get("owner_type", ""), request.args.get("owner_id", ""))
    rows, nxt = cursor_page(
        select(Document).where(
            Document.owner_type == entry.name,
            Document.owner_id == owner.id,
            Document.deleted_at.is_(None),
        ),
        [(Document.id, "desc")],
        lambda d: (d.id,),
    )
    items = [document_json(d) for d in rows]
    # File names can name patients: listing them is a PHI read.
    audit(
        "document.listed",
        object_type=entry.name,
        object_id=owner.id,
        is_phi=True,
        details={"count": len(items), "via": "api"},
    )
    db.session.commit()
    return jsonify(items=items, next=nxt)


@bp.route("/documents", methods=["POST"])
@roles(WORKERS)
@describe(
    multipart={
        "owner_type": f"One of {', '.join(KNOWN_OWNER_TYPES)}.",
        "owner_id": "The owner's id.",
        "category": f"One of {', '.join(CATEGORY_NAMES)}.",
        "note": "Optional note (500 characters).",
        "file": "The file (PDF, PNG, JPEG, TIFF, DOCX or text).",
    },
    responses={201: DocumentUploaded},
    errors=(404, 413),
)
def documents_create():
    """Upload a document to a practice, payer, policy, association or case."""
    entry, owner = _owner(request.form.get("owner_type", ""), request.form.get("owner_id", ""))
    upload = request.files.get("file")
    has_file = upload is not None and bool(upload.filename)
    try:
        result = services.upload(
            tenant_id=g.membership.tenant_id,
            actor=g.actor,
            owner_type=entry.name,
            owner_id=owner.id,
            category=request.form.get("category", ""),
            stream=upload.stream if has_file else None,
            filename=upload.filename if has_file else None,
            note=request.form.get("note"),
        )
    except OwnerNotFound:
        db.session.rollback()
        api_error(404, "no such owner")
    except services.DocumentError as err:
        db.session.rollback()
        api_error(err.status, "upload refused", [{"field": f, "message": m} for f, m in err.errors])
    out = dict(document_json(result.document), warnings=list(result.warnings))
    key = result.document.storage_key
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        services.discard_object(key)
        raise
    return jsonify(out), 201


@bp.route("/documents/<int:document_id>", methods=["GET"])
@roles(STAFF)
@describe(responses={200: DocumentOut})
def documents_get(document_id: int):
    """A document's record."""
    out = document_json(_document_or_404(document_id))
    db.session.commit()
    return jsonify(out)


@bp.route("/documents/<int:document_id>/link", methods=["GET"])
@roles(STAFF)
@describe(responses={200: DownloadLink}, errors=(409,))
def documents_link(document_id: int):
    """A short-lived download link (5 minutes), audited as a PHI read."""
    doc = _document_or_404(document_id)
    storage = get_storage()
    try:
        url = services.download_url(doc, actor=g.actor, storage=storage)
    except services.DocumentError as err:
        db.session.rollback()
        api_error(err.status, err.errors[0][1], [{"field": f, "message": m} for f, m in err.errors])
    if isinstance(storage, LocalStorage):
        # The same signed token, served by the API (an API client has no web session).
        url = url_for("api.documents_file", token=url.rstrip("/").rsplit("/", 1)[1], _external=True)
    db.session.commit()
    return jsonify(url=url, expires_in=services.DOWNLOAD_TTL_SECONDS)


@bp.route("/documents/files/<token>", methods=["GET"])
@public
@describe(responses={200: "The file."}, binary={200: "application/octet-stream"}, errors=(404,))
def documents_file(token: str):
    """The file of a download link (locally stored documents). The signed,
    expiring token is the credential, like an S3 presigned URL."""
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        api_error(404, "not found")
    try:
        info = storage.read_token(token)
    except ObjectNotFound:
        api_error(404, "this link is invalid or has expired")
    tenant_id = tenant_of_key(info["key"])
    if tenant_id is None:
        api_error(404, "not found")
    with tenant_scope(tenant_id):
        doc = db.session.scalar(select(Document).where(Document.storage_key == info["key"]))
        if doc is None or doc.is_deleted:
            api_error(404, "not found")
        try:
            fh = storage.open(doc.storage_key)
        except ObjectNotFound:
            api_error(404, "not found")
        db.session.commit()
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
