"""Firm templates run in a sandbox: they reach only the merge fields they are
given, and a template naming anything else is refused before it is saved."""

from __future__ import annotations

import pytest

from advocate.letters.document import check_source, sample_context
from advocate.letters.fields import allowed_fields
from advocate.letters.sandbox import TemplateProblem, check_template, render
from advocate.letters.types import LETTER_TYPES, letter_type

ALL = allowed_fields(False)
CTX = {"firm": {"name": "Harbor"}, "lines": [{"code": "99213"}], "today": "March 4, 2026"}


def _problems(src: str, *, nsa: bool = False) -> str:
    return " | ".join(m for _f, m in check_template(src, allowed=allowed_fields(nsa), is_nsa=nsa))


@pytest.mark.parametrize(
    "src",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ firm.__class__ }}",
        "{{ firm.name.__class__ }}",
        "{{ firm.name.upper() }}",
        "{{ firm.items() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner() }}",
        "{{ lipsum() }}",
        "{{ range(10) }}",
        "{{ namespace() }}",
        "{{ self }}",
        "{{ config }}",
        "{{ request }}",
        "{{ firm.name|attr('__class__') }}",
        "{{ lines|map(attribute='__class__')|list }}",
        "{% include 'base.html' %}",
        "{% import 'macros/ui.html' as ui %}",
        "{{ firm.name|format(1) }}",
    ],
)
def test_sandbox_escapes_are_refused_at_save(src):
    assert _problems(src), src


@pytest.mark.parametrize(
    "src",
    [
        "{{ ''.__class__ }}",
        "{{ firm.__class__ }}",
        "{{ firm.items() }}",
        "{{ cycler }}",
        "{{ joiner }}",
        "{{ firm.name.upper() }}",
        "{{ lines[0].__class__ }}",
        "{{ 'x' * 100000000 }}",
        "{{ 9 ** 9 ** 9 }}",
    ],
)
def test_sandbox_refuses_escapes_at_render_too(src):
    # Defence in depth: even a template that skipped the save-time check cannot escape.
    with pytest.raises(TemplateProblem):
        render(src, CTX)


def test_render_reads_only_plain_merge_data():
    assert (
        render("{{ firm.name }} {{ lines[0].code }} {{ today|upper }}", CTX)
        == "Harbor 99213 MARCH 4, 2026"
    )
    assert render("{% for l in lines %}{{ loop.index }}:{{ l.code }}{% endfor %}", CTX) == "1:99213"


def test_unknown_merge_field_is_refused_and_named():
    msg = _problems("Dear {{ patient.first_name }},\n\nYour SSN is {{ patient.ssn }}.")
    assert "unknown merge field “patient.ssn” (line 3)" in msg
    assert "first_name" not in msg


def test_loop_variables_are_checked_against_the_line_fields():
    assert _problems("{% for l in lines %}{{ l.code }} {{ l.paid }}{% endfor %}") == ""
    assert "“lines[].price”" in _problems("{% for l in lines %}{{ l.price }}{% endfor %}")


def test_a_group_alone_is_refused_with_its_fields():
    assert "use one of firm.address" in _problems("{{ firm }}")


def test_nsa_letter_types_do_not_offer_billed_or_benchmark_fields():
    for src in (
        "{{ case.billed_total }}",
        "{% for l in lines %}{{ l.billed }}{% endfor %}",
        "{% for l in lines %}{{ l.benchmark }}{% endfor %}",
    ):
        assert "No Surprises Act letters may not show" in _problems(src, nsa=True), src
        assert _problems(src, nsa=False) == "", src


def test_nsa_template_text_naming_medicare_or_percentiles_is_refused():
    nsa = letter_type("idr_offer_summary")
    assert check_source("Offer", "We ask 150% of Medicare.", nsa)
    assert check_source("Offer", "The 80th percentile of charges.", nsa)
    assert check_source("Offer", "Usual and customary rates apply.", nsa)
    assert check_source("Offer", "Our offer is {{ nsa.offer }}.", nsa) == []


@pytest.mark.parametrize("key", sorted(LETTER_TYPES))
def test_every_system_template_passes_its_own_check(key):
    lt = letter_type(key)
    assert check_source(lt.subject, lt.body, lt) == []
    assert "[[claim table]]" in render(lt.body, sample_context(lt)) or lt.table == "none"
