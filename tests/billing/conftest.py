"""Local Stripe for the billing tests: localstripe (customers) behind the fake
server (invoices, Connect), both started once per session on free ports as
subprocesses, waited for, and killed at the end. Nothing is downloaded."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_KEY = "sk_test_platform_advocate"  # noqa: S105 - a local test server's key
WEBHOOK_SECRET = "whsec_test_advocate_billing"  # noqa: S105 - test secret


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {proc.returncode}")
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {PLATFORM_KEY}"})  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=2):  # noqa: S310 - local server
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start within {timeout}s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def stripe_server():
    """The base URL of a Stripe-compatible API for stripe-python (``api_base``)."""
    ls_port, fake_port = _free_port(), _free_port()
    localstripe = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "tests.stripe_server.run_localstripe",
            "--port",
            str(ls_port),
            "--from-scratch",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    fake = None
    try:
        upstream = f"http://127.0.0.1:{ls_port}"
        _wait(f"{upstream}/v1/customers", localstripe)
        fake = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "tests.stripe_server.fake",
                "--port",
                str(fake_port),
                "--upstream",
                upstream,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{fake_port}"
        _wait(f"{base}/_fake/stats", fake)
        yield base
    finally:
        if fake is not None:
            _stop(fake)
        _stop(localstripe)


@pytest.fixture()
def stripe_app(db_app, stripe_server):
    """The app talking to the local Stripe, with the test webhook secret."""
    saved = {
        k: db_app.config.get(k)
        for k in ("STRIPE_API_BASE", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET")
    }
    # A platform key per test: ids restart with each test's empty tables, and
    # idempotency keys are scoped by API key, as on Stripe.
    db_app.config.update(
        STRIPE_API_BASE=stripe_server,
        STRIPE_API_KEY=f"{PLATFORM_KEY}_{uuid.uuid4().hex[:12]}",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    yield db_app
    db_app.config.update(saved)


def fake_stats(base: str) -> dict:
    import json

    with urllib.request.urlopen(f"{base}/_fake/stats", timeout=5) as r:  # noqa: S310
        return json.loads(r.read())
