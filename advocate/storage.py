"""One interface for stored files: `LocalStorage` (the embedded default, files
under the instance folder) and `S3Storage` (boto3; AWS or any S3-compatible
server).

Rules every caller relies on:
- Keys are `tenants/<tenant id>/<kind>/<generated id>`: never derived from a
  user's file name (`new_key`, `tenant_key`).
- S3 puts always ask for server-side encryption (AES256, or aws:kms with the
  configured key id); there is no setting that turns it off.
- Downloads are short-lived URLs that force `Content-Disposition: attachment`
  and `Cache-Control: no-store`:
  an S3 presigned GET, or (local storage) a signed, expiring URL served by the
  app, whose view must re-check access before streaming the file.
- `list()` yields objects in key order, so one tenant's objects are contiguous.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import quote

from flask import Flask, current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

DOWNLOAD_TTL_SECONDS = 300
TENANT_PREFIX = "tenants/"
LOCAL_DOWNLOAD_ENDPOINT = "documents.local_file"
SSE_MODES = ("AES256", "aws:kms", "aws:kms:dsse")

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_KEY_TENANT = re.compile(r"^tenants/(\d+)/")


class StorageError(RuntimeError):
    """A storage backend failed or was misconfigured."""


class ObjectNotFound(StorageError):
    """No object under that key."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime  # UTC


class Storage(Protocol):
    """What every backend offers. Keys are relative (`tenants/...`); a backend
    may add its own prefix underneath."""

    name: str

    def put(self, key: str, data: BinaryIO, *, content_type: str) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str = TENANT_PREFIX) -> Iterator[StoredObject]: ...

    def presigned_get(
        self, key: str, *, filename: str, content_type: str, expires_in: int = DOWNLOAD_TTL_SECONDS
    ) -> str: ...


# --------------------------------------------------------------------------
# Keys


def tenant_key(tenant_id: int, *parts: str) -> str:
    """`tenants/<tenant id>/<part>/...`; every part a plain name (no slashes,
    no dot-dot), so a key can never escape its tenant's prefix."""
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool) or tenant_id <= 0:
        raise ValueError(f"bad tenant id {tenant_id!r}")
    if not parts:
        raise ValueError("a key needs at least one part after the tenant")
    for part in parts:
        if not isinstance(part, str) or not _SEGMENT.match(part) or ".." in part:
            raise ValueError(f"bad key part {part!r}")
    return "/".join((f"tenants/{tenant_id}", *parts))


def new_key(tenant_id: int, kind: str = "documents") -> str:
    """A fresh key with a generated id (never the user's file name)."""
    return tenant_key(tenant_id, kind, uuid.uuid4().hex)


def tenant_of_key(key: str) -> int | None:
    m = _KEY_TENANT.match(key)
    return int(m.group(1)) if m else None


def check_key(key: str) -> str:
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != "tenants" or tenant_of_key(key) is None:
        raise ValueError(f"key {key!r} is not under tenants/<id>/")
    tenant_key(int(parts[1]), *parts[2:])
    return key


# --------------------------------------------------------------------------
# Content-Disposition


def safe_filename(name: str | None, default: str = "document") -> str:
    """A display/download name: no directories, no control characters, no
    quotes; at most 180 characters."""
    name = (name or "").replace("\\", "/").split("/")[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '"<>:|?*')
    name = name.strip(" .")
    if not name:
        return default
    if len(name) > 180:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 180 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:180]
    return name


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the RFC 6266/5987 UTF-8 name."""
    name = safe_filename(filename)
    ascii_name = (
        unicodedata.normalize("NFKD", name)
        .encode("ascii", "ignore")
        .decode("ascii")
        .replace("\\", "_")
    ) or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


# --------------------------------------------------------------------------
# Local storage


class LocalStorage:
    """Files under a directory (default: <instance>/documents). Writes are
    atomic (temporary file, then rename), so a reader never sees half a file."""

    name = "local"

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        secret_key: str,
        download_endpoint: str = LOCAL_DOWNLOAD_ENDPOINT,
    ):
        self.root = Path(root)
        self._signer = URLSafeSerializer(secret_key, salt="advocate.storage.local-download")
        self.download_endpoint = download_endpoint

    def _path(self, key: str) -> Path:
        check_key(key)
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key {key!r} escapes the storage root")
        return path

    def put(self, key: str, data: BinaryIO, *, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".put-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := data.read(1024 * 1024):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as err:
            raise ObjectNotFound(key) from err

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = TENANT_PREFIX) -> Iterator[StoredObject]:
        base = self.root
        if not base.is_dir():
            return
        # Walk only the directory the prefix names, then filter, in key order.
        start = base / prefix.rsplit("/", 1)[0] if "/" in prefix else base
        if not start.is_dir():
            return
        found = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for fn in filenames:
                if fn.startswith("."):
                    continue  # a put in progress (or one that died: see sweep_temp_files)
                full = Path(dirpath) / fn
                key = full.relative_to(base).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        for key in sorted(found):
            try:
                st = (base / key).stat()
            except FileNotFoundError:
                continue
            yield StoredObject(
                key=key, size=st.st_size, last_modified=datetime.fromtimestamp(st.st_mtime, UTC)
            )

    def sweep_temp_files(self, older_than_seconds: int) -> int:
        """Remove temporary files of puts that died mid-write."""
        removed = 0
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        for path in self.root.rglob(".put-*.tmp"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    # A signed, expiring URL to the app's own download view.
    def presigned_get(
        self, key: str, *, filename: str, content_type: str, expires_in: int = DOWNLOAD_TTL_SECONDS
    ) -> str:
        check_key(key)
        token = self._signer.dumps(
            {
                "k": key,
                "f": safe_filename(filename),
                "ct": content_type,
                "e": int(time.time()) + int(expires_in),
            }
        )
        return url_for(self.download_endpoint, token=token)

    def read_token(self, token: str) -> dict:
        """The key, filename and content type a download token was issued for;
        raises ObjectNotFound when it is forged or expired."""
        try:
            data = self._signer.loads(token)
        except BadSignature as err:
            raise ObjectNotFound("bad download token") from err
        if not isinstance(data, dict) or int(data.get("e", 0)) < time.time():
            raise ObjectNotFound("expired download token")
        return {
            "key": check_key(data["k"]),
            "filename": data["f"],
            "content_type": data["ct"],
            "expires_at": int(data["e"]),
        }


# --------------------------------------------------------------------------
# S3


class S3Storage:
    """Objects in an S3 bucket (or an S3-compatible server via endpoint_url)."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        sse: str = "AES256",
        kms_key_id: str | None = None,
        client=None,
    ):
        if not bucket:
            raise StorageError("S3_BUCKET is required for S3 storage")
        sse = "aws:kms" if kms_key_id and sse == "AES256" else (sse or "AES256")
        if sse not in SSE_MODES:
            raise StorageError(f"S3_SSE must be one of {', '.join(SSE_MODES)} (got {sse!r})")
        self.bucket = bucket
        self.prefix = (prefix.strip("/") + "/") if prefix and prefix.strip("/") else ""
        self.sse = sse
        self.kms_key_id = kms_key_id or None
        if client is None:
            import boto3
            from botocore.config import Config

            s3_opts = {"addressing_style": "path"} if endpoint_url else {}
            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or None,
                config=Config(signature_version="s3v4", s3=s3_opts, retries={"max_attempts": 3}),
            )
        self.client = client

    def _full(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put_params(self, key: str, content_type: str) -> dict:
        params = {
            "Bucket": self.bucket,
            "Key": self._full(key),
            "ContentType": content_type,
            "ServerSideEncryption": self.sse,
        }
        if self.sse.startswith("aws:kms") and self.kms_key_id:
            params["SSEKMSKeyId"] = self.kms_key_id
        return params

    def put(self, key: str, data: BinaryIO, *, content_type: str) -> None:
        self.client.put_object(Body=data, **self.put_params(key, content_type))

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"]
        except ClientError as err:
            if _is_not_found(err):
                raise ObjectNotFound(key) from err
            raise

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as err:
            if _is_not_found(err):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    def list(self, prefix: str = TENANT_PREFIX) -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for obj in page.get("Contents", []):
                lm = obj["LastModified"]
                yield StoredObject(
                    key=obj["Key"][len(self.prefix) :],
                    size=int(obj["Size"]),
                    last_modified=lm if lm.tzinfo else lm.replace(tzinfo=UTC),
                )

    def presigned_get(
        self, key: str, *, filename: str, content_type: str, expires_in: int = DOWNLOAD_TTL_SECONDS
    ) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._full(key),
                "ResponseContentDisposition": content_disposition(filename),
                "ResponseContentType": content_type,
                "ResponseCacheControl": "no-store",
            },
            ExpiresIn=int(expires_in),
        )


def _is_not_found(err) -> bool:
    code = str(err.response.get("Error", {}).get("Code", ""))
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in {"404", "NoSuchKey", "NotFound"} or status == 404


# --------------------------------------------------------------------------
# Wiring


def build_storage(config) -> Storage:
    backend = (config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "s3":
        return S3Storage(
            config.get("S3_BUCKET"),
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
            prefix=config.get("S3_PREFIX") or "",
            sse=config.get("S3_SSE") or "AES256",
            kms_key_id=config.get("S3_KMS_KEY_ID"),
        )
    if backend == "local":
        return LocalStorage(config["STORAGE_LOCAL_ROOT"], secret_key=config["SECRET_KEY"])
    raise StorageError(f"STORAGE_BACKEND must be 'local' or 's3' (got {backend!r})")


def init_app(app: Flask) -> None:
    app.extensions["storage"] = build_storage(app.config)


def get_storage() -> Storage:
    return current_app.extensions["storage"]


def set_storage(app: Flask, storage: Storage) -> Storage:
    """Swap the backend (tests, ops scripts); returns the previous one."""
    previous = app.extensions.get("storage")
    app.extensions["storage"] = storage
    return previous
