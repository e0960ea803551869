"""Documents: upload (validated, hashed, stored, recorded), listing, access,
download links, soft delete and restore.

Order of an upload, so the row and the object never disagree for long: the
object is written first (under a generated key), then the row is flushed and
the caller commits. If anything fails before the commit the caller discards
the object (`discard_object`); if the process dies in between, the object is
an orphan that `flask documents sweep` removes after a grace period.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from advocate.audit.services import audit
from advocate.db import utcnow
from advocate.documents.filetypes import KINDS, FileTypeError, download_name, sniff
from advocate.documents.models import CATEGORY_LABELS, Document
from advocate.documents.owners import OwnerNotFound, load_owner
from advocate.extensions import db
from advocate.storage import DOWNLOAD_TTL_SECONDS, Storage, get_storage, new_key, safe_filename
from tenants import current_tenant_id
from tenants.models import WORKER_ROLES

DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024
RESTORE_DAYS = 30
KEY_KIND = "documents"  # keys: tenants/<tenant id>/documents/<generated id>
NOTE_MAX = 500
_CHUNK = 1024 * 1024


class DocumentError(Exception):
    """A refusal with messages naming the field, and the HTTP status it maps to."""

    def __init__(
        self, errors: list[tuple[str, str]] | str, message: str | None = None, status: int = 422
    ):
        if isinstance(errors, str):
            errors = [(errors, message or "")]
        self.errors = errors
        self.status = status
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))

    @property
    def message(self) -> str:
        return str(self)


@dataclass
class UploadResult:
    document: Document
    duplicate_of: Document | None = None
    warnings: list[str] = field(default_factory=list)


def max_upload_bytes() -> int:
    """MAX_UPLOAD_BYTES (a file's limit), else the request limit, else 25 MB."""
    cfg = current_app.config
    return int(
        cfg.get("MAX_UPLOAD_BYTES") or cfg.get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_UPLOAD_BYTES
    )


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def _spool(stream: BinaryIO, limit: int):
    """Copy the upload aside while hashing it; refuse past `limit` bytes."""
    buf = tempfile.SpooledTemporaryFile(max_size=_CHUNK)
    digest = hashlib.sha256()
    size = 0
    try:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise DocumentError(
                    "file", f"the file is larger than the {human_size(limit)} limit", 413
                )
            digest.update(chunk)
            buf.write(chunk)
    except BaseException:
        buf.close()
        raise
    buf.seek(0)
    return buf, size, digest.hexdigest()


def upload(
    *,
    tenant_id: int,
    actor: Any,
    owner_type: str,
    owner_id: Any,
    category: str,
    stream: BinaryIO | None,
    filename: str | None,
    note: str | None = None,
    storage: Storage | None = None,
    max_bytes: int | None = None,
) -> UploadResult:
    """Validate everything, store the object, flush the row (the caller commits).

    Raises OwnerNotFound (a 404: no such owner in this firm) or DocumentError.
    """
    if tenant_id != current_tenant_id():
        raise OwnerNotFound("the owner's firm is not the firm in scope")
    _entry, _owner = load_owner(owner_type, owner_id)
    storage = storage or get_storage()
    limit = max_bytes if max_bytes is not None else max_upload_bytes()

    errors: list[tuple[str, str]] = []
    if category not in CATEGORY_LABELS:
        errors.append(("category", f"choose one of: {', '.join(CATEGORY_LABELS.values())}"))
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        errors.append(("note", f"at most {NOTE_MAX} characters"))
    if stream is None:
        errors.append(("file", "choose a file to upload"))
        raise DocumentError(errors)
    try:
        spooled, size, sha256 = _spool(stream, limit)
    except DocumentError as err:
        raise DocumentError(errors + err.errors, status=err.status) from None
    with spooled:
        kind = None
        if size == 0:
            errors.append(("file", "the file is empty"))
        else:
            try:
                kind = sniff(spooled)
            except FileTypeError as err:
                errors.append(("file", str(err)))
        if errors:
            raise DocumentError(errors)

        duplicate = db.session.scalar(
            select(Document)
            .where(
                Document.owner_type == owner_type,
                Document.owner_id == int(owner_id),
                Document.sha256 == sha256,
                Document.deleted_at.is_(None),
            )
            .order_by(Document.id)
            .limit(1)
        )
        key = new_key(tenant_id, KEY_KIND)
        spooled.seek(0)
        storage.put(key, spooled, content_type=kind.content_type)

    try:
        doc = Document(
            tenant_id=tenant_id,
            owner_type=owner_type,
            owner_id=int(owner_id),
            category=category,
            filename=safe_filename(filename)[:200],
            note=note,
            kind=kind.name,
            content_type=kind.content_type,
            size_bytes=size,
            sha256=sha256,
            storage_key=key,
            duplicate_of_id=duplicate.id if duplicate else None,
            uploaded_by_id=getattr(actor, "id", None),
        )
        db.session.add(doc)
        db.session.flush()
        audit(
            "document.uploaded",
            doc,
            user_id=getattr(actor, "id", None),
            is_phi=True,
            details={
                "owner_type": owner_type,
                "owner_id": int(owner_id),
                "category": category,
                "kind": kind.name,
                "size": size,
                "sha256": sha256,
                "duplicate_of": doc.duplicate_of_id,
            },
        )
    except BaseException:
        discard_object(key, storage)
        raise
    warnings = []
    if duplicate:
        warnings.append(
            f"This file is identical to “{duplicate.filename}” (document {duplicate.id}) already attached "
            "here; it was saved and marked as a duplicate."
        )
    return UploadResult(document=doc, duplicate_of=duplicate, warnings=warnings)


def discard_object(key: str, storage: Storage | None = None) -> None:
    """Best-effort removal of an object whose row will not be committed (the
    sweep catches what this misses)."""
    try:
        (storage or get_storage()).delete(key)
    except Exception:  # noqa: BLE001 - never mask the original failure
        current_app.logger.warning("could not discard stored object %s; the sweep will", key)


# --------------------------------------------------------------------------
# Reading


def documents_query(owner_type: str, owner_id: int, *, include_deleted: bool = False) -> Select:
    """Newest first, uploader loaded; paginate it with db.paginate(...)."""
    q = (
        select(Document)
        .where(Document.owner_type == owner_type, Document.owner_id == int(owner_id))
        .options(selectinload(Document.uploaded_by))
        .order_by(Document.created_at.desc(), Document.id.desc())
    )
    if not include_deleted:
        q = q.where(Document.deleted_at.is_(None))
    return q


def documents_for(owner_type: str, owner_id: int) -> list[Document]:
    """The live documents of one owner in the current firm (at most 200; use
    documents_query to paginate longer lists)."""
    return list(db.session.scalars(documents_query(owner_type, owner_id).limit(200)))


def owner_of(document: Document):
    """(owner type entry, owner object) or OwnerNotFound."""
    return load_owner(document.owner_type, document.owner_id)


def can_read(membership: Any, document: Document) -> bool:
    """Staff read every document of their firm; practice users only those
    whose owner belongs to their own practice."""
    if membership is None or not getattr(membership, "is_active", False):
        return False
    if document.tenant_id != membership.tenant_id:
        return False
    if membership.is_staff:
        return True
    if not membership.is_practice or membership.practice_id is None:
        return False
    try:
        entry, owner = owner_of(document)
    except OwnerNotFound:
        return False
    practice_id = entry.practice_of(owner)
    return practice_id is not None and practice_id == membership.practice_id


def can_change(membership: Any) -> bool:
    return membership is not None and membership.is_active and membership.role in WORKER_ROLES


def download_url(
    document: Document,
    *,
    actor: Any,
    storage: Storage | None = None,
    expires_in: int = DOWNLOAD_TTL_SECONDS,
) -> str:
    """A short-lived attachment URL, audited. The caller has checked access."""
    if document.is_deleted:
        raise DocumentError("document", "the document was deleted", 404)
    if document.is_missing:
        raise DocumentError("document", "the stored file is missing; upload it again", 409)
    storage = storage or get_storage()
    kind = KINDS.get(document.kind)
    name = download_name(document.filename, kind) if kind else document.filename
    url = storage.presigned_get(
        document.storage_key,
        filename=name,
        content_type=document.content_type,
        expires_in=expires_in,
    )
    audit(
        "document.downloaded",
        document,
        user_id=getattr(actor, "id", None),
        is_phi=True,
        details={
            "owner_type": document.owner_type,
            "owner_id": document.owner_id,
            "expires_in": expires_in,
            "storage": storage.name,
        },
    )
    return url


# --------------------------------------------------------------------------
# Delete and restore


def delete_document(document: Document, *, actor: Any, now: datetime | None = None) -> None:
    """Soft delete: hidden now, restorable by an admin for RESTORE_DAYS days."""
    if document.is_deleted:
        return
    document.deleted_at = now or utcnow()
    document.deleted_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit(
        "document.deleted",
        document,
        user_id=getattr(actor, "id", None),
        details={"owner_type": document.owner_type, "owner_id": document.owner_id},
    )


def restore_deadline(document: Document, days: int = RESTORE_DAYS) -> datetime | None:
    return document.deleted_at + timedelta(days=days) if document.deleted_at else None


def restore_document(
    document: Document, *, actor: Any, now: datetime | None = None, days: int = RESTORE_DAYS
) -> None:
    if not document.is_deleted:
        raise DocumentError("document", "the document is not deleted", 409)
    now = now or utcnow()
    if restore_deadline(document, days) < now:
        raise DocumentError(
            "document", f"deleted more than {days} days ago; it can no longer be restored", 409
        )
    document.deleted_at = None
    document.deleted_by_id = None
    db.session.flush()
    audit(
        "document.restored",
        document,
        user_id=getattr(actor, "id", None),
        details={"owner_type": document.owner_type, "owner_id": document.owner_id},
    )


def deleted_documents_query(*, now: datetime | None = None, days: int = RESTORE_DAYS) -> Select:
    """Soft-deleted documents still within the restore window, newest first."""
    since = (now or utcnow()) - timedelta(days=days)
    return (
        select(Document)
        .where(Document.deleted_at.is_not(None), Document.deleted_at >= since)
        .options(selectinload(Document.deleted_by), selectinload(Document.uploaded_by))
        .order_by(Document.deleted_at.desc(), Document.id.desc())
    )
