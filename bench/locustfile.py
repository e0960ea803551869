"""The load of `make bench-web` (driven by bench/bench_web.py, which writes the
accounts file named by $BENCH_WEB_USERS): staff of the big firm who log in
with password and authenticator code, then read the caseload, their own
caseload, case pages, the deadline list, the dashboard and the API, beside a
trivial authenticated route (the floor) on the same server.

    BENCH_WEB_USERS=/tmp/users.json .venv/bin/locust -f bench/locustfile.py \\
        --headless -u 20 -r 10 -t 60s --host http://127.0.0.1:8765
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time

import pyotp
from locust import HttpUser, between, task

CONFIG = json.loads(open(os.environ["BENCH_WEB_USERS"]).read())  # noqa: SIM115
_accounts = itertools.count()
_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"'
)
WAIT = [float(x) for x in os.environ.get("BENCH_WEB_WAIT", "0.5,1.5").split(",")]


def _csrf(html: str) -> str:
    m = _CSRF.search(html)
    if not m:
        raise RuntimeError("no CSRF token on the page")
    return m.group(1) or m.group(2)


class Staff(HttpUser):
    wait_time = between(*WAIT)

    def on_start(self):
        n = next(_accounts)
        accounts = CONFIG["accounts"]
        self.account = accounts[n % len(accounts)]
        self.rng = random.Random(n)
        self.api = {"Authorization": f"Bearer {self.account['api_token']}"}
        self._login()

    def _login(self):
        totp = pyotp.TOTP(self.account["totp_secret"])
        for attempt in range(4):
            r = self.client.get("/login", name="login: form")
            r = self.client.post(
                "/login",
                data={
                    "csrf_token": _csrf(r.text),
                    "email": self.account["email"],
                    "password": CONFIG["password"],
                },
                name="login: password",
            )
            if "/login/two-factor" not in r.url:
                raise RuntimeError(f"password step failed for {self.account['email']}")
            # Two users on one account: the second uses the next step's code
            # (the one step of clock drift the app allows); a code already
            # used is refused, so on refusal wait for a fresh step.
            step = int(time.time()) // 30 + (attempt % 2)
            r = self.client.post(
                "/login/two-factor",
                data={"csrf_token": _csrf(r.text), "code": totp.at(step * 30)},
                name="login: code",
            )
            if "/login" not in r.url:
                return
            time.sleep(30 - time.time() % 30 + 0.5 if attempt % 2 else 0.2)
        raise RuntimeError(f"could not log in as {self.account['email']}")

    def get(self, url: str, name: str, headers: dict | None = None) -> None:
        """A page read; a redirect to the log-in page or a non-200 is a failure."""
        with self.client.get(url, name=name, headers=headers, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
            elif "/login" in r.url:
                r.failure("sent to the log-in page")
            else:
                r.success()

    # The floor: a trivial authenticated route on the same server.
    @task
    def floor(self):
        self.get("/api/v1/me", "floor: /api/v1/me", headers=self.api)

    @task
    def healthz(self):
        self.get("/healthz", "no auth: /healthz")

    @task
    def dashboard(self):
        self.get("/", "dashboard: /")

    @task
    def reports(self):
        if CONFIG.get("reports"):
            self.get("/reports/", "dashboard: /reports/")

    @task(2)
    def caseload(self):
        self.get("/cases/", "caseload: /cases/")

    @task
    def caseload_open_at_stake(self):
        self.get("/cases/?status=open&sort=at_stake", "caseload: open, by at stake")

    @task
    def caseload_payer_open(self):
        payer = self.rng.choice(CONFIG["payer_ids"])
        self.get(f"/cases/?payer_id={payer}&status=open", "caseload: one payer, open")

    @task
    def caseload_practice_dates(self):
        practice = self.rng.choice(CONFIG["practice_ids"])
        self.get(
            f"/cases/?practice_id={practice}&service_from={CONFIG['year_ago']}",
            "caseload: practice + service dates",
        )

    @task
    def caseload_overdue(self):
        self.get("/cases/?overdue=1&sort=deadline", "caseload: overdue, by deadline")

    @task(2)
    def my_caseload(self):
        self.get("/cases/mine", "my caseload: /cases/mine")

    @task(2)
    def case_page(self):
        case_id = self.rng.choice(CONFIG["case_ids"])
        self.get(f"/cases/{case_id}", "case page: /cases/<id>")

    @task
    def deadlines(self):
        self.get("/deadlines/", "deadlines: /deadlines/")

    @task
    def api_cases(self):
        self.get("/api/v1/cases?status=open", "api: /api/v1/cases", headers=self.api)
