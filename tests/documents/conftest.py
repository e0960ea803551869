"""Document fixtures: an S3-compatible server (moto in server mode, over
HTTP, once per session), a storage backend per test (local or S3), and a
test-only owner type backed by invitations."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from advocate.db import utcnow
from advocate.documents.owners import register_owner
from advocate.extensions import db
from advocate.storage import LocalStorage, S3Storage, set_storage
from tenants import tenant_scope

OWNER = "test_owner"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
BUCKET = "advocate-documents-test"


def register_test_owner() -> None:
    """A fake owner type: an invitation of the firm stands in for a practice,
    payer or case, and its practice_id decides what practice users see."""
    from tenants.onboarding.models import Invitation

    register_owner(
        OWNER,
        lambda pk: db.session.get(Invitation, pk),
        lambda inv: inv.practice_id,
        label="Test owner",
    )


register_test_owner()


def make_owner(tenant_id: int, practice_id: int | None = None) -> int:
    """An owner object (an invitation) in the firm; returns its id."""
    from advocate.auth.models import new_token, token_hash
    from tenants.onboarding.models import Invitation

    with tenant_scope(tenant_id):
        inv = Invitation(
            email=f"owner-{uuid.uuid4().hex[:8]}@example.com",
            role="practice_user",
            practice_id=practice_id,
            token_hash=token_hash(new_token()),
            expires_at=utcnow() + timedelta(days=7),
        )
        db.session.add(inv)
        db.session.commit()
        return inv.id


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MotoServer:
    endpoint: str
    bucket: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=FAKE_AWS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory):
    """moto's S3 over real HTTP on a free port; boto3 talks to it unchanged."""
    port = _free_port()
    binary = Path(sys.executable).parent / "moto_server"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - the venv's own moto_server, fixed arguments
            [str(binary), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **FAKE_AWS},
        )
    server = MotoServer(endpoint=f"http://127.0.0.1:{port}", bucket=BUCKET)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"moto_server did not start: {log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.1)
        server.client().create_bucket(Bucket=BUCKET)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(params=["local", "s3"])
def storage(request, db_app, tmp_path):
    """The app's storage for this test: a fresh local root, or a fresh prefix
    in the moto bucket. `storage.test_config` rebuilds it in a subprocess."""
    if request.param == "local":
        root = tmp_path / "documents"
        backend = LocalStorage(root, secret_key=db_app.config["SECRET_KEY"])
        backend.test_config = {"STORAGE_BACKEND": "local", "STORAGE_LOCAL_ROOT": str(root)}
    else:
        moto = request.getfixturevalue("moto_s3")
        prefix = f"run-{uuid.uuid4().hex[:10]}"
        backend = S3Storage(moto.bucket, prefix=prefix, client=moto.client())
        backend.test_config = {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": moto.bucket,
            "S3_ENDPOINT_URL": moto.endpoint,
            "S3_PREFIX": prefix,
            "S3_REGION": "us-east-1",
        }
    previous = set_storage(db_app, backend)
    try:
        yield backend
    finally:
        set_storage(db_app, previous)


@pytest.fixture()
def aws_env(monkeypatch):
    for k, v in FAKE_AWS.items():
        monkeypatch.setenv(k, v)
