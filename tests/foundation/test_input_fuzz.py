"""Hostile input never makes a 500: NUL bytes, ids out of any integer range,
negative or non-numeric ids, nonsense dates and amounts, thrown at every GET
route's query parameters and every POST route's form fields (API routes get
the same values as JSON bodies), logged in as a firm owner on PostgreSQL.

The routes come from the URL map (like the isolation crawler); each route's
parameter names are read from its module's `request.args/form.get("...")`
calls and the WTForms forms its view builds, plus the names every list page
shares. Hypothesis picks the values, derandomized and with a few examples per
route, so the test is repeatable and bounded in time."""

from __future__ import annotations

import inspect
import re
import sys

import pytest
from flask_wtf import FlaskForm
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter
from wtforms.fields.core import UnboundField

from tests.factories import login
from tests.isolation import TOKEN_ARGS, seed_firm

pytestmark = pytest.mark.postgres

HUGE = "99999999999999999999"
HOSTILE = [
    "\x00",
    "a\x00b",
    "1\x00",
    HUGE,
    "-" + HUGE,
    "-1",
    "0",
    "abc",
    "1e400",
    "NaN",
    "-inf",
    "",
    "9" * 60,
    "2026-02-30",
    "99999-01-01",
    "0001-01-01",
    "C-" + HUGE,
    "12.345.6",
    "' OR 1=1 --",
    "x" * 5000,
    "²",  # str.isdigit() says yes, int() says no
    "１２",  # full-width digits
]
COMMON = {
    "page", "per_page", "sort", "dir", "q", "status", "format", "next", "id", "ids",
    "case_id", "case_ids", "payer_id", "practice_id", "assignee_id", "template", "template_id",
    "document_id", "agreement_id", "sca_id", "filter_id", "membership_id", "user_id",
    "from", "to", "date_from", "date_to", "amount_min", "amount_max", "owner_type", "owner_id",
    "start", "end", "year", "code", "locality", "letter_type", "case", "name", "email",
    "amount", "role", "plan_type", "token", "received", "due", "advocate",
}  # fmt: skip
SKIP_ENDPOINTS = {"auth.logout"}  # would end the session the crawl runs in

_PARAM = re.compile(
    r"""request\.(?:args|form|values)\.(?:get|getlist)\(\s*["']([A-Za-z_][\w-]*)["']"""
)
_FORM = re.compile(r"\b([A-Z]\w*Form)\(")
_JSON_KEY = re.compile(r"""(?:body|data|payload|j)\.get\(\s*["']([a-z_]+)["']""")


def _names(app, rule) -> list[str]:
    view = inspect.unwrap(app.view_functions[rule.endpoint])
    module = sys.modules[view.__module__]
    module_src = inspect.getsource(module)
    names = set(COMMON) | set(_PARAM.findall(module_src))
    if rule.rule.startswith("/api/"):
        names |= set(_JSON_KEY.findall(module_src))
    for form_name in set(_FORM.findall(inspect.getsource(view))):
        form = getattr(module, form_name, None)
        if isinstance(form, type) and issubclass(form, FlaskForm):
            names |= {n for n, f in inspect.getmembers(form) if isinstance(f, UnboundField)}
    names.discard("csrf_token")
    return sorted(names)


def _routes(app):
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.endpoint in SKIP_ENDPOINTS:
            continue
        if rule.rule.startswith("/stripe/"):
            continue  # signed webhooks: refused before any field is read
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method in ("GET", "POST"):
                out.append((rule, method, _names(app, rule)))
    return out


values = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=12),
    st.integers(min_value=-(10**22), max_value=10**22).map(str),
)


def _request(browser, s, rule, method, url, fields, csrf):
    r = _send(browser, s, rule, method, url, fields, csrf)
    r.get_data()  # to the end: a streamed body runs (and closes) its query
    r.close()
    return r


def _send(browser, s, rule, method, url, fields, csrf):
    env = {"REMOTE_ADDR": "10.77.0.1"}
    if rule.rule.startswith("/api/"):
        headers = {"Authorization": f"Bearer {s.raw_api_token}"}
        if method == "GET":
            return browser.open(
                url, method="GET", query_string=fields, headers=headers, environ_base=env
            )
        return browser.open(url, method="POST", json=fields, headers=headers, environ_base=env)
    if method == "GET":
        return browser.open(url, method="GET", query_string=fields, environ_base=env)
    data = {**fields, "csrf_token": csrf[0]}
    return browser.open(url, method="POST", data=data, environ_base=env)


def _probe(db_app, browser, s, csrf, failures, counter, rule, method, names):
    """A Hypothesis test of one route: its path ids and fields drawn."""
    from advocate.extensions import db

    int_args = [a for a in rule.arguments if isinstance(rule._converters[a], IntegerConverter)]
    own = {a: s.ids.get(a, [1])[0] for a in int_args}
    tokens = {a: "not-a-real-token-0123456789abcdef" for a in rule.arguments if a in TOKEN_ARGS}

    @example(path="own", fields=dict.fromkeys(names, "a\x00b"))
    @example(path="own", fields=dict.fromkeys(names, HUGE))
    @settings(
        max_examples=1,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate),  # no shrinking: the list says enough
    )
    @given(
        path=st.sampled_from(["own", "huge", "zero"]),
        fields=st.fixed_dictionaries({}, optional=dict.fromkeys(names, values)),
    )
    def probe(path, fields):
        if path == "huge" and not int_args:
            path = "own"
        ids = {a: {"own": own[a], "huge": int(HUGE), "zero": 0}[path] for a in int_args}
        url = db_app.url_map.bind("localhost").build(
            rule.endpoint, {**ids, **tokens}, method=method
        )
        counter[0] += 1
        try:
            r = _request(browser, s, rule, method, url, fields, csrf)
        except Exception as err:  # a view that raised: a 500 in production
            db.session.rollback()
            failures.append(
                f"{method} {url} {_short(fields)} -> {type(err).__name__}: {str(err)[:300]}"
            )
            return
        if r.status_code >= 500:
            failures.append(f"{method} {url} {_short(fields)} -> {r.status_code}")
        if r.status_code == 302 and r.headers.get("Location", "").startswith("/login"):
            if browser.get("/account").status_code != 200:
                login(browser, s.firm.owner)  # a field ended the session: log in again
                csrf[0] = browser.csrf()

    return probe, bool(int_args)


def test_no_route_answers_500_to_hostile_input(db_app, make_browser):
    s = seed_firm("Fuzz", "QXFUZZ42")
    browser = make_browser("10.77.0.1")
    login(browser, s.firm.owner)
    csrf = [browser.csrf()]  # one token serves the whole session
    failures: list[str] = []
    counter = [0]
    for rule, method, names in _routes(db_app):
        probe, has_ids = _probe(db_app, browser, s, csrf, failures, counter, rule, method, names)
        probe()
        if has_ids:
            probe.hypothesis.inner_test(path="huge", fields={})  # an id no key can hold
    print("\n".join(failures))  # noqa: T201 - the whole list, when the assertion fails
    assert failures == []
    assert counter[0] > 3 * 200
    assert browser.get("/account").status_code == 200


def _short(fields: dict) -> str:
    return repr({k: (v if len(v) < 30 else v[:27] + "...") for k, v in fields.items()})[:400]
