"""Every render of a letter template runs under a budget, in a child process
the template cannot leave: loops, output, CPU time, memory. Over budget the
person gets the limit named (a form error on the web, the letter's failure
reason in a batch) and the web or worker process carries on. Previews and
template editing need the template-editing role."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import select

from advocate import template_budget
from advocate.db import utcnow
from advocate.extensions import db
from advocate.letters import services, tasks
from advocate.letters.document import check_source
from advocate.letters.models import FAILED, Letter, LetterTemplate, LetterTemplateVersion
from advocate.letters.sandbox import TemplateProblem, render
from advocate.letters.types import letter_type
from tenants import tenant_scope
from tests.factories import login
from tests.letters.conftest import bulk_cases, make_setup

CTX = {"firm": {"name": "Harbor"}, "lines": [{"code": "99213"}, {"code": "99214"}]}
NESTED_LOOPS = (
    "{% for a in 'x' * 1000 %}{% for b in 'x' * 1000 %}{% for c in 'x' * 1000 %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)
CPU_BURNER = (
    "{% set big = 'ab' * 1000 %}{% set big = big * 30 %}"
    "{% for a in 'x' * 1000 %}{% for b in 'x' * 99 %}{% set y = big|replace('a', 'bb') %}"
    "{% endfor %}{% endfor %}"
)


def _problem(src: str) -> str:
    with pytest.raises(TemplateProblem) as err:
        render(src, CTX)
    return " ".join(m for _f, m in err.value.problems)


def test_a_normal_template_renders_exactly_as_before():
    src = "Dear {{ firm.name|upper }},\n{% for l in lines %}{{ loop.index }}. {{ l.code }}\n{% endfor %}"
    expected = "Dear HARBOR,\n1. 99213\n2. 99214\n"
    assert render(src, CTX) == expected
    assert template_budget.render_here(src, CTX) == expected


def test_nested_loops_stop_at_the_loop_limit_and_the_process_carries_on():
    pid = os.getpid()
    started = time.monotonic()
    message = _problem(NESTED_LOOPS)
    assert "loops ran more than 100,000 times" in message
    assert time.monotonic() - started < 30
    assert os.getpid() == pid
    assert render("{{ firm.name }}", CTX) == "Harbor"  # the next letter renders


def test_chained_repetition_hits_the_output_limit():
    message = _problem("{{ 'x' * 1000 * 1000 * 100 }}")
    assert "longer than 60,000 characters (the output limit)" in message
    message = _problem("{% set a = 'x' * 1000 %}{% set a = a * 50 %}{{ a + a }}")
    assert "the output limit" in message
    assert render("{{ 'ab' * 3 }}", CTX) == "ababab"


def test_a_filter_that_grows_a_huge_string_hits_the_memory_limit():
    message = _problem("{{ ('x' * 1000)|center(100000000) }}")
    assert "64 MB of memory" in message
    assert render("{{ firm.name }}", CTX) == "Harbor"


def test_a_template_that_burns_cpu_is_stopped_and_the_child_replaced():
    render("{{ firm.name }}", CTX)
    first = template_budget._renderer._proc.pid
    started = time.monotonic()
    message = _problem(CPU_BURNER)
    assert "2 s of CPU time" in message or "longer than 10 s" in message
    assert time.monotonic() - started < 60
    assert render("{{ firm.name }}", CTX) == "Harbor"
    assert template_budget._renderer._proc.pid != first  # a fresh child, same caller


def test_a_slow_template_is_refused_at_save_with_the_limit_named():
    problems = check_source("Subject", NESTED_LOOPS, letter_type("records_cover"))
    assert problems and "loops ran more than 100,000 times" in problems[0][1]


def test_previews_need_the_template_editing_role(db_app, make_browser):
    s = make_setup()
    data = {"letter_type": "records_cover", "subject": "x", "body": "y", "case": "C-000001"}
    for person in (s.viewer, s.advocate):
        b = make_browser("10.5.5.1")
        login(b, person)
        assert b.post("/letters/preview", data).status_code == 403
        assert 'data-testid="preview-form"' not in b.get(
            "/letters/system?type=records_cover"
        ).get_data(as_text=True)
    admin = make_browser("10.5.5.2")
    login(admin, s.admin)
    assert 'data-testid="preview-form"' in admin.get("/letters/system?type=records_cover").get_data(
        as_text=True
    )
    r = admin.post("/letters/preview", {**data, "body": NESTED_LOOPS})
    assert r.status_code == 422
    assert "loops ran more than 100,000 times" in r.get_data(as_text=True)
    r = admin.post("/letters/preview", data)
    assert r.status_code == 200 and r.mimetype == "application/pdf"


def test_a_batch_letter_over_budget_fails_with_the_limit_as_its_reason(db_app):
    s = make_setup()
    bulk_cases(s.tenant.id, s.practice_id, s.payer_id, 1)
    tid = s.tenant.id
    with tenant_scope(tid):
        # A template saved before renders had a budget: its text was never checked.
        t = LetterTemplate(tenant_id=tid, name="Slow one", letter_type="records_cover")
        db.session.add(t)
        db.session.flush()
        v = LetterTemplateVersion(
            tenant_id=tid,
            template_id=t.id,
            number=1,
            subject="Records",
            body=NESTED_LOOPS,
            created_at=utcnow(),
        )
        db.session.add(v)
        db.session.flush()
        t.current_version_id = v.id
        from advocate.auth.models import User
        from advocate.practices.services import tenant_today

        batch = services.create_batch(
            tenant=db.session.get(type(s.tenant), tid),
            actor=db.session.get(User, s.advocate.user.id),
            filter_args={},
            letter_type_key="records_cover",
            template_version_id=v.id,
            today=tenant_today(s.tenant),
        )
        db.session.commit()
        bid = batch.id
    tasks.render_batch(tid, bid)
    with tenant_scope(tid):
        rows = db.session.execute(
            select(Letter.status, Letter.error).where(Letter.batch_id == bid)
        ).all()
    assert rows and all(status == FAILED for status, _e in rows)
    assert all("loops ran more than 100,000 times" in (e or "") for _s, e in rows)
