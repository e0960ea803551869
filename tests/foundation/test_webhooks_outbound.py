"""Outbound webhooks against a local HTTP receiver: signed deliveries after the
commit, responses recorded, failures kept, replay from the page."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from advocate.billing.models import FeeLedgerEntry
from advocate.extensions import db
from advocate.webhooks import services
from advocate.webhooks.models import WebhookDelivery
from tenants import tenant_scope
from tests.factories import api_headers, case_payload, login, make_firm, make_payer, make_practice


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict, str]] = []
    status = 200

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"thanks" if type(self).status == 200 else b"down for maintenance")

    def log_message(self, *args):
        pass


@pytest.fixture()
def receiver(db_app):
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.received, _Receiver.status = [], 200
    db_app.config["WEBHOOKS_ALLOW_HTTP"] = True
    db_app.config["WEBHOOKS_ALLOW_PRIVATE"] = True  # the receiver is on 127.0.0.1
    yield f"http://127.0.0.1:{server.server_port}/hook"
    db_app.config["WEBHOOKS_ALLOW_HTTP"] = False
    db_app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    server.shutdown()
    server.server_close()


def _deliveries(tenant_id):
    with tenant_scope(tenant_id):
        rows = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        out = [(d.event_type, d.status, d.attempts, d.response_status, d.id) for d in rows]
        db.session.commit()
        return out


def test_events_are_signed_sent_after_commit_and_recorded(db_app, receiver):
    firm = make_firm("Hook Firm")
    with tenant_scope(firm.tenant.id):
        ep = services.create_endpoint(
            tenant_id=firm.tenant.id,
            actor=None,
            url=receiver,
            events=["case.created", "payment.posted", "fee.accrued"],
        )
        secret = ep.secret
        db.session.commit()
    practice_id, payer_id = make_practice(firm.tenant), make_payer(firm.tenant)
    client = db_app.test_client()
    r = client.post(
        "/api/v1/cases", json=case_payload(practice_id, payer_id), headers=api_headers(firm.owner)
    )
    assert r.status_code == 201
    types = [json.loads(body)["type"] for _, body in _Receiver.received]
    with tenant_scope(firm.tenant.id):
        fees = db.session.scalars(select(FeeLedgerEntry.id).order_by(FeeLedgerEntry.id)).all()
        db.session.commit()
    # The intake payment, and one fee.accrued per ledger entry it made.
    assert types == ["case.created", "payment.posted"] + ["fee.accrued"] * len(fees)
    assert [json.loads(b)["data"]["entry_id"] for _, b in _Receiver.received[2:]] == fees
    for headers, body in _Receiver.received:
        assert services.verify(secret, headers["Advocate-Signature"], body)
        assert not services.verify("whsec_wrong", headers["Advocate-Signature"], body)
        assert "Doe" not in body  # ids and states, never the patient
    assert json.loads(_Receiver.received[0][1])["data"]["case_id"] == r.get_json()["id"]
    assert [(t, s, a, code) for t, s, a, code, _ in _deliveries(firm.tenant.id)] == [
        (t, "delivered", 1, 200) for t in types
    ]

    # A rolled-back transaction sends nothing.
    with tenant_scope(firm.tenant.id):
        services.emit(firm.tenant.id, "case.created", {"case_id": 0})
        db.session.rollback()
    assert len(_Receiver.received) == len(types)


def test_a_failed_delivery_is_kept_with_its_response_and_replayed_from_the_page(
    db_app, receiver, browser
):
    firm = make_firm("Hook Firm")
    with tenant_scope(firm.tenant.id):
        ep = services.create_endpoint(
            tenant_id=firm.tenant.id, actor=None, url=receiver, events=["case.created"]
        )
        endpoint_id = ep.id
        db.session.commit()
    _Receiver.status = 503
    with tenant_scope(firm.tenant.id):
        services.emit(firm.tenant.id, "case.created", {"case_id": 7})
        db.session.commit()
    [(kind, status, attempts, code, delivery_id)] = _deliveries(firm.tenant.id)
    assert (kind, status, attempts, code) == ("case.created", "failed", 1, 503)
    login(browser, firm.owner)
    page = browser.get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "HTTP 503" in page and "down for maintenance" in page
    _Receiver.status = 200
    r = browser.post(f"/settings/webhooks/deliveries/{delivery_id}/replay", {})
    assert r.status_code == 302
    rows = _deliveries(firm.tenant.id)
    assert [(s, code) for _, s, _, code, _ in rows] == [("failed", 503), ("delivered", 200)]
    assert (
        json.loads(_Receiver.received[0][1])["id"] == json.loads(_Receiver.received[1][1])["id"]
    )  # the same event


def _resolve_to(monkeypatch, *addresses):
    """Make every host name resolve to ``addresses`` (no DNS in the tests)."""
    import socket

    def fake(host, port, *args, **kwargs):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(services.safe_http.socket, "getaddrinfo", fake)


def test_an_endpoint_must_be_https_and_name_its_events(db_app, browser, monkeypatch):
    _resolve_to(monkeypatch, "93.184.215.14")  # a public address
    firm = make_firm("Hook Firm")
    login(browser, firm.owner)
    r = browser.post(
        "/settings/webhooks/", {"url": "http://example.com/hook", "events": ["case.created"]}
    )
    assert r.status_code == 422 and "https://" in r.get_data(as_text=True)
    r = browser.post("/settings/webhooks/", {"url": "https://example.com/hook"})
    assert r.status_code == 422 and "at least one event" in r.get_data(as_text=True)
    r = browser.post(
        "/settings/webhooks/", {"url": "https://example.com/hook", "events": ["case.created"]}
    )
    assert r.status_code == 302
    page = browser.get(r.headers["Location"]).get_data(as_text=True)
    assert re.search(r"whsec_[0-9a-f]{48}", page)


def test_the_daily_digest_emits_deadline_due_once_without_the_label(db_app, receiver):
    from advocate.cases.models import Case
    from advocate.deadlines.case_services import add_manual_deadline, send_digests
    from tests.factories import firm_today, make_case

    firm = make_firm("Hook Firm")
    case_id = make_case(firm.tenant, make_practice(firm.tenant), make_payer(firm.tenant))
    today = firm_today(firm.tenant.id)
    with tenant_scope(firm.tenant.id):
        services.create_endpoint(
            tenant_id=firm.tenant.id, actor=None, url=receiver, events=["deadline.due"]
        )
        add_manual_deadline(
            db.session.get(Case, case_id),
            actor_id=None,
            data={"label": "Call Jane Doe back", "due_on": today.isoformat()},
        )
        db.session.commit()
    for _ in range(2):  # the digest runs again: nothing new
        with tenant_scope(firm.tenant.id):
            send_digests(firm.tenant.id, today=today)
            db.session.commit()
    bodies = [json.loads(b) for _, b in _Receiver.received]
    assert [(b["type"], b["data"]["case_id"], b["data"]["kind"]) for b in bodies] == [
        ("deadline.due", case_id, "manual")
    ]
    assert "Jane" not in _Receiver.received[0][1]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.5/hook",
        "https://192.168.1.1:8443/hook",
        "https://172.16.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://240.0.0.1/hook",
        "https://100.64.0.1/hook",
        "https://[::1]/hook",
        "https://[::]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://[ff02::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:169.254.169.254]/hook",
        "https://[2002:a00:1::]/hook",  # 6to4 wrapping 10.0.0.1
    ],
)
def test_an_endpoint_on_a_private_address_is_refused(db_app, browser, url):
    firm = make_firm("Hook Firm")
    login(browser, firm.owner)
    r = browser.post("/settings/webhooks/", {"url": url, "events": ["case.created"]})
    page = r.get_data(as_text=True)
    assert r.status_code == 422, url
    assert "can&#39;t receive webhooks" in page or "can't receive webhooks" in page
    with tenant_scope(firm.tenant.id):
        assert db.session.scalars(select(services.WebhookEndpoint)).all() == []
        db.session.commit()


def test_a_host_name_that_resolves_to_a_private_address_is_refused(db_app, monkeypatch):
    firm = make_firm("Hook Firm")
    _resolve_to(monkeypatch, "93.184.215.14", "169.254.169.254")  # one bad answer is enough
    with tenant_scope(firm.tenant.id):
        with pytest.raises(services.WebhookError) as err:
            services.create_endpoint(
                tenant_id=firm.tenant.id,
                actor=None,
                url="https://hooks.example.com/x",
                events=["case.created"],
            )
        db.session.rollback()
    [(field, message)] = err.value.errors
    assert field == "url" and "link-local" in message
    _resolve_to(monkeypatch, "93.184.215.14")
    with tenant_scope(firm.tenant.id):
        ep = services.create_endpoint(
            tenant_id=firm.tenant.id,
            actor=None,
            url="https://hooks.example.com/x",
            events=["case.created"],
        )
        assert ep.id
        db.session.rollback()


def test_delivery_checks_the_address_again_and_connects_to_the_checked_one(
    db_app, receiver, monkeypatch
):
    """Registered while the host was public; by delivery it resolves to loopback
    (DNS rebinding, or the setting turned off): nothing is sent, the failure is kept."""
    firm = make_firm("Hook Firm")
    with tenant_scope(firm.tenant.id):
        services.create_endpoint(
            tenant_id=firm.tenant.id, actor=None, url=receiver, events=["case.created"]
        )
        db.session.commit()
    db_app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    with tenant_scope(firm.tenant.id):
        services.emit(firm.tenant.id, "case.created", {"case_id": 7})
        db.session.commit()
    assert _Receiver.received == []
    [(kind, status, attempts, code, delivery_id)] = _deliveries(firm.tenant.id)
    assert (status, attempts, code) == ("failed", 1, None)
    with tenant_scope(firm.tenant.id):
        assert "not public" in db.session.get(WebhookDelivery, delivery_id).error
        db.session.commit()

    # A name that answers a public address first and loopback after (DNS rebinding):
    # it is resolved once, and the socket connects to the address that was checked.
    import socket

    calls, connected = [], []

    def rebinding(host, port, *args, **kwargs):
        calls.append(host)
        ip = "93.184.215.14" if len(calls) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    def connect(sock, addr):
        connected.append(addr)
        raise OSError("not in the tests")

    monkeypatch.setattr(services.safe_http.socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(services.safe_http.socket.socket, "connect", connect)
    status, _, error = services._post("http://rebind.example.com/hook", "whsec_x", "{}")
    assert status is None and error == "ConnectionError"
    assert calls == ["rebind.example.com"] and connected == [("93.184.215.14", 80)]


def test_redirects_are_not_followed(db_app, receiver):
    _Receiver.status = 302
    status, _, _ = services._post(receiver, "whsec_x", "{}")
    assert status == 302 and len(_Receiver.received) == 1
