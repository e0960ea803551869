"""Error reporting: with SENTRY_DSN set, an unhandled error reaches Sentry
(here a local HTTP endpoint capturing the envelope) without PHI or secrets."""

from __future__ import annotations

import gzip
import threading
import zlib
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

sentry_sdk = pytest.importorskip("sentry_sdk")

PATIENT = "Quartermaine"


class _Capture(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        elif encoding == "br":
            import brotli

            raw = brotli.decompress(raw)
        type(self).bodies.append(raw)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_an_unhandled_error_is_reported_with_its_request_id_and_without_phi(db_app):
    from advocate import errors
    from advocate.auth.access import PUBLIC

    server = HTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Capture.bodies = []
    db_app.config["SENTRY_DSN"] = f"http://publickey@127.0.0.1:{server.server_port}/7"
    original = db_app.view_functions["auth.login"]

    def boom():
        raise ValueError(f"cannot price the claim of patient {PATIENT}")

    boom._access = PUBLIC
    db_app.view_functions["auth.login"] = boom
    try:
        assert errors.init_app(db_app)
        client = db_app.test_client()
        with pytest.raises(ValueError):
            client.get(
                f"/login?q={PATIENT}",
                headers={
                    "Authorization": "Bearer adv_secret_token",
                    "Cookie": "advocate_session=sess-secret",
                    "X-Request-ID": "req-sentry-0001",
                },
            )
        sentry_sdk.flush(timeout=10)
    finally:
        db_app.view_functions["auth.login"] = original
        db_app.config["SENTRY_DSN"] = None
        sentry_sdk.init(dsn=None)
        server.shutdown()
        server.server_close()
    envelope = b"\n".join(_Capture.bodies).decode()
    assert (
        "ValueError" in envelope and "req-sentry-0001" in envelope
    )  # it arrived, findable by request id
    for secret in (PATIENT, "adv_secret_token", "sess-secret"):
        assert secret not in envelope


def test_scrub_removes_phi_from_an_event():
    from advocate.errors import scrub

    event = {
        "request": {
            "url": "https://x/cases?q=Doe",
            "data": {"patient": "Doe"},
            "cookies": "s=1",
            "query_string": "q=Doe",
            "headers": {"Authorization": "Bearer t", "User-Agent": "ua"},
        },
        "user": {"id": 5, "email": "doe@example.com"},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": "Doe",
                    "stacktrace": {"frames": [{"vars": {"name": "Doe"}}]},
                }
            ]
        },
        "breadcrumbs": {"values": [{"message": "Doe", "data": {"q": "Doe"}}]},
        "extra": {"patient": "Doe"},
    }
    assert "Doe" not in repr(scrub(event))
    assert event["request"]["headers"] == {"User-Agent": "ua"} and event["user"] == {"id": 5}
