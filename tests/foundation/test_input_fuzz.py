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


def test_a_nul_byte_is_refused_with_the_field_named(db_app, make_browser):
    s = seed_firm("Nul", "QXNUL7")
    browser = make_browser("10.77.0.2")
    login(browser, s.firm.owner)
    r = browser.get("/cases/", query_string={"q": "Smith\x00"})
    assert r.status_code == 400
    assert "q: text may not contain NUL characters." in r.get_data(as_text=True)
    r = browser.post("/payers/new", {"name": "Acme\x00Health"})
    assert r.status_code == 400 and "name: text may not contain NUL" in r.get_data(as_text=True)
    r = browser.open(
        "/api/v1/cases",
        method="POST",
        json={"patient": {"last_name": "Doe\x00"}},
        headers={"Authorization": f"Bearer {s.raw_api_token}"},
    )
    assert r.status_code == 400
    assert r.get_json()["error"] == "patient.last_name: text may not contain NUL characters."


@pytest.mark.parametrize(
    "url",
    [
        f"/cases/{HUGE}",
        f"/payers/{HUGE}",
        f"/practices/{HUGE}/edit",
        f"/letters/batches/{HUGE}",
        "/cases/-1",
        "/cases/abc",
    ],
)
def test_ids_out_of_range_or_not_numbers_are_not_found(db_app, make_browser, url):
    s = seed_firm("Ids", "QXIDS9")
    browser = make_browser("10.77.0.3")
    login(browser, s.firm.owner)
    assert browser.get(url).status_code == 404


def test_huge_page_numbers_and_ids_in_fields_are_not_server_errors(db_app, make_browser):
    s = seed_firm("Pages", "QXPAGE5")
    browser = make_browser("10.77.0.4")
    login(browser, s.firm.owner)
    for url in ("/payers/", "/practices/", "/audit/", "/letters/templates", "/people"):
        r = browser.get(url, query_string={"page": HUGE, "per_page": HUGE})
        assert r.status_code == 200, url
    for value in (HUGE, "²", "-1"):
        r = browser.post("/letters/templates/copy", {"source_template_id": value, "name": "x"})
        assert r.status_code == 404, value
    practice_id = s.ids["practice_id"][0]
    r = browser.post(f"/billing/practices/{practice_id}/entries", {"case_number": HUGE})
    assert r.status_code == 302  # back to the ledger with "Case: enter the number ..."


def test_a_value_the_database_refuses_is_a_400_not_a_500(db_app):
    from sqlalchemy.exc import DataError

    from advocate import input_guard

    class _Orig(Exception):
        sqlstate = "22003"

    err = DataError("SELECT 1", {}, _Orig("bigint out of range"))
    with db_app.test_request_context("/cases/"):
        body, status = input_guard._data_error(err)
        assert status == 400 and input_guard.BAD_VALUE in body
    with db_app.test_request_context("/api/v1/cases"):
        resp, status = input_guard._data_error(err)
        assert status == 422 and resp.get_json()["error"] == input_guard.BAD_VALUE


def test_as_id_takes_only_ascii_digits_in_the_key_range():
    from advocate.input_guard import as_id

    assert [as_id(v) for v in ("12", " 7 ", 3)] == [12, 7, 3]
    assert [as_id(v) for v in ("", None, "0", "-1", "²", "１２", "1.5", HUGE, str(2**63))] == [
        None
    ] * 9
