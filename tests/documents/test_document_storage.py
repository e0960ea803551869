"""The Storage interface, over both backends: local files and S3 (moto's
server over HTTP). moto checks neither signatures nor expiry, so these tests
check what the code asks for: encryption on every put, 300-second links with
an attachment disposition, keys under tenants/<id>/."""

from __future__ import annotations

import io
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from advocate import storage as storage_module
from advocate.storage import (
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    StorageError,
    build_storage,
    content_disposition,
    new_key,
    safe_filename,
    tenant_key,
    tenant_of_key,
)


def _read(storage, key) -> bytes:
    fh = storage.open(key)
    try:
        return fh.read()
    finally:
        fh.close()


def test_put_open_exists_list_delete(storage):
    key = new_key(7)
    other = new_key(8)
    storage.put(key, io.BytesIO(b"hello"), content_type="text/plain; charset=utf-8")
    storage.put(other, io.BytesIO(b"other firm"), content_type="text/plain; charset=utf-8")
    assert storage.exists(key) and _read(storage, key) == b"hello"
    listed = list(storage.list("tenants/7/"))
    assert [o.key for o in listed] == [key]
    assert listed[0].size == 5 and listed[0].last_modified.tzinfo is not None
    assert sorted(o.key for o in storage.list()) == sorted([key, other])
    storage.delete(key)
    storage.delete(key)  # idempotent
    assert not storage.exists(key)
    with pytest.raises(ObjectNotFound):
        storage.open(key)
    assert [o.key for o in storage.list()] == [other]


def test_list_is_in_key_order_so_each_firm_is_contiguous(storage):
    keys = [tenant_key(t, "documents", f"k{n}") for t in (1, 10, 2, 1, 10) for n in range(2)]
    for key in set(keys):
        storage.put(key, io.BytesIO(b"x"), content_type="text/plain")
    listed = [o.key for o in storage.list()]
    assert listed == sorted(set(keys))
    tenants = [tenant_of_key(k) for k in listed]
    assert tenants == sorted(tenants, key=lambda t: str(t) + "/")


def test_keys_are_generated_and_stay_inside_their_firm():
    key = new_key(42)
    assert key.startswith("tenants/42/documents/") and len(key.rsplit("/", 1)[1]) == 32
    assert new_key(42) != key
    assert tenant_of_key(key) == 42
    for bad in ("..", "a/b", "", ".hidden", "x" * 200):
        with pytest.raises(ValueError):
            tenant_key(42, "documents", bad)
    for bad_tenant in (0, -1, "42", None, True):
        with pytest.raises(ValueError):
            tenant_key(bad_tenant, "documents", "x")


def test_backends_refuse_keys_outside_tenants(storage):
    for bad in ("../etc/passwd", "documents/x", "tenants/x/y", "tenants/1/../2/x", "/tenants/1/x"):
        with pytest.raises(ValueError):
            storage.put(bad, io.BytesIO(b"x"), content_type="text/plain")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\EOB March.pdf", "EOB March.pdf"),
        ('evil"\r\nX-Header: 1.pdf', "evilX-Header 1.pdf"),
        ("", "document"),
        ("...", "document"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_content_disposition_is_an_attachment_with_a_utf8_name():
    cd = content_disposition('Résumé "op" note.pdf')
    assert cd.startswith('attachment; filename="Resume op note.pdf"; ')
    assert "filename*=UTF-8''R%C3%A9sum%C3%A9%20op%20note.pdf" in cd


# --------------------------------------------------------------------------
# S3 specifics


def _capture_puts(s3: S3Storage) -> list[dict]:
    captured: list[dict] = []

    def hook(params, **kwargs):
        captured.append(dict(params))

    s3.client.meta.events.register("provide-client-params.s3.PutObject", hook)
    return captured


def test_s3_put_always_asks_for_aes256_encryption(moto_s3):
    s3 = S3Storage(moto_s3.bucket, prefix="sse-default", client=moto_s3.client())
    puts = _capture_puts(s3)
    key = new_key(3)
    s3.put(key, io.BytesIO(b"%PDF-1.4"), content_type="application/pdf")
    assert len(puts) == 1
    assert puts[0]["ServerSideEncryption"] == "AES256"
    assert "SSEKMSKeyId" not in puts[0]
    assert puts[0]["Key"] == "sse-default/" + key and puts[0]["Key"].split("/", 1)[1].startswith(
        "tenants/3/"
    )
    head = s3.client.head_object(Bucket=moto_s3.bucket, Key="sse-default/" + key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "application/pdf"


def test_s3_put_uses_kms_with_the_configured_key(moto_s3):
    s3 = S3Storage(
        moto_s3.bucket,
        prefix="sse-kms",
        kms_key_id="arn:aws:kms:us-east-1:123456789012:key/abc",
        client=moto_s3.client(),
    )
    assert s3.sse == "aws:kms"
    puts = _capture_puts(s3)
    s3.put(new_key(3), io.BytesIO(b"x"), content_type="text/plain")
    assert puts[0]["ServerSideEncryption"] == "aws:kms"
    assert puts[0]["SSEKMSKeyId"] == "arn:aws:kms:us-east-1:123456789012:key/abc"


@pytest.mark.parametrize("sse", ["", "none", "AES128"])
def test_s3_encryption_cannot_be_switched_off(moto_s3, sse):
    if sse == "":
        assert S3Storage(moto_s3.bucket, sse=sse, client=moto_s3.client()).sse == "AES256"
        return
    with pytest.raises(StorageError, match="S3_SSE"):
        S3Storage(moto_s3.bucket, sse=sse, client=moto_s3.client())


def test_s3_presigned_get_lasts_300_seconds_and_forces_an_attachment(moto_s3):
    import urllib.request

    s3 = S3Storage(moto_s3.bucket, prefix="presign", client=moto_s3.client())
    key = new_key(5)
    s3.put(key, io.BytesIO(b"%PDF-1.4 body"), content_type="application/pdf")
    url = s3.presigned_get(key, filename="EOB March.pdf", content_type="application/pdf")
    parts = urlsplit(url)
    q = parse_qs(parts.query)
    assert parts.path == f"/{moto_s3.bucket}/presign/{key}"
    assert q["X-Amz-Expires"] == ["300"]
    assert q["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert q["response-content-disposition"][0].startswith('attachment; filename="EOB March.pdf"')
    assert q["response-content-type"] == ["application/pdf"]
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - the local moto server
        assert resp.read() == b"%PDF-1.4 body"
        assert resp.headers["Content-Disposition"].startswith("attachment;")


def test_build_storage_from_settings(db_app, moto_s3, aws_env, tmp_path):
    local = build_storage(
        {"STORAGE_BACKEND": "local", "STORAGE_LOCAL_ROOT": str(tmp_path), "SECRET_KEY": "k"}
    )
    assert isinstance(local, LocalStorage) and local.root == tmp_path
    s3 = build_storage(
        {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": moto_s3.bucket,
            "S3_ENDPOINT_URL": moto_s3.endpoint,
            "S3_REGION": "us-east-1",
            "S3_PREFIX": "/built/",
            "S3_SSE": "AES256",
        }
    )
    assert isinstance(s3, S3Storage) and s3.prefix == "built/" and s3.sse == "AES256"
    key = new_key(9)
    s3.put(key, io.BytesIO(b"via settings"), content_type="text/plain")
    assert _read(s3, key) == b"via settings"
    with pytest.raises(StorageError):
        build_storage({"STORAGE_BACKEND": "ftp"})
    with pytest.raises(StorageError, match="S3_BUCKET"):
        build_storage({"STORAGE_BACKEND": "s3", "S3_BUCKET": None})
    # The app is wired with the local default in tests.
    assert isinstance(db_app.extensions["storage"], LocalStorage)


# --------------------------------------------------------------------------
# Local download tokens


def test_local_download_token_carries_key_name_type_and_expiry(db_app, tmp_path):
    local = LocalStorage(tmp_path, secret_key=secrets.token_hex())
    key = new_key(4)
    with db_app.test_request_context():
        url = local.presigned_get(key, filename="../EOB.pdf", content_type="application/pdf")
    assert url.startswith("/documents/file/")
    token = url.rsplit("/", 1)[1]
    info = local.read_token(token)
    assert (
        info["key"] == key
        and info["filename"] == "EOB.pdf"
        and info["content_type"] == "application/pdf"
    )
    assert 295 <= info["expires_at"] - time.time() <= 300
    # Another secret (another deployment) or a changed token: refused.
    with pytest.raises(ObjectNotFound):
        LocalStorage(tmp_path, secret_key=secrets.token_hex()).read_token(token)
    with pytest.raises(ObjectNotFound):
        local.read_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_local_download_token_expires(db_app, tmp_path, monkeypatch):
    local = LocalStorage(tmp_path, secret_key=secrets.token_hex())
    with db_app.test_request_context():
        url = local.presigned_get(new_key(4), filename="a.pdf", content_type="application/pdf")
    token = url.rsplit("/", 1)[1]
    real = time.time()
    monkeypatch.setattr(storage_module.time, "time", lambda: real + 301)
    with pytest.raises(ObjectNotFound):
        local.read_token(token)


def test_local_put_is_atomic_and_private(tmp_path):
    local = LocalStorage(tmp_path, secret_key=secrets.token_hex())
    key = new_key(1)

    class Exploding(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise OSError("disk went away")
            return super().read(4)

    with pytest.raises(OSError):
        local.put(key, Exploding(b"partial content"), content_type="text/plain")
    assert not local.exists(key)
    assert list(tmp_path.rglob("*.tmp")) == []
    local.put(key, io.BytesIO(b"whole"), content_type="text/plain")
    assert (tmp_path / key).stat().st_mode & 0o777 == 0o600
