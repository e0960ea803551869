"""The SVG charts: accessible (role, title, description, a title per mark),
escaped, CSP-safe (no style attributes, no script), and drawn to scale."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

from advocate.reports.charts import Chart, Series, month_label

NS = "{http://www.w3.org/2000/svg}"


def _parse(svg: str):
    return ET.fromstring(svg)  # noqa: S314 - our own output


def test_a_bar_chart_is_accessible_and_to_scale():
    ch = Chart(
        "rec",
        "Recovered",
        "Amount recovered per month.",
        ["Jan 26", "Feb 26"],
        [Series("Recovered", [Decimal("100.00"), Decimal("400.00")])],
    )
    svg = str(ch.svg())
    root = _parse(svg)
    assert root.get("role") == "img"
    title, desc = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert title.text == "Recovered" and desc.text == "Amount recovered per month."
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    bars = root.findall(f".//{NS}rect[@class='chart-bar chart-s0']")
    assert len(bars) == 2
    assert [b.find(f"{NS}title").text for b in bars] == [
        "Jan 26 — Recovered: $100.00",
        "Feb 26 — Recovered: $400.00",
    ]
    h = [float(b.get("height")) for b in bars]
    assert abs(h[1] / h[0] - 4) < 0.01
    assert "style=" not in svg and "<script" not in svg


def test_names_are_escaped_and_negative_values_drawn_below_zero():
    ch = Chart(
        "p",
        "By payer",
        "<b>desc</b>",
        ["A&B <Plan>", "C"],
        [Series("Recovered", [Decimal("-50.00"), Decimal("150.00")])],
        horizontal=True,
    )
    svg = str(ch.svg())
    root = _parse(svg)  # well-formed: everything escaped
    assert "A&amp;B &lt;Plan&gt;" in svg and "<b>" not in svg
    zero = root.find(f".//{NS}line[@class='chart-zero']")
    neg, pos = root.findall(f".//{NS}rect[@class='chart-bar chart-s0']")
    assert float(neg.get("x")) + float(neg.get("width")) <= float(zero.get("x1")) + 0.1
    assert float(pos.get("x")) >= float(zero.get("x1")) - 0.1


def test_stacked_and_line_charts_with_a_legend_and_gaps():
    st = Chart(
        "s",
        "Routes",
        "d",
        ["Jan", "Feb"],
        [Series("SCA", [1, 2]), Series("IDR", [3, 0])],
        kind="stacked",
        value_kind="int",
    )
    root = _parse(str(st.svg()))
    assert len(root.findall(f".//{NS}rect[@class='chart-bar chart-s1']")) == 2
    assert root.find(f".//{NS}g[@class='chart-legend']") is not None
    ln = Chart(
        "l",
        "Days",
        "d",
        ["Jan", "Feb", "Mar", "Apr"],
        [Series("Median", [Decimal("10.0"), None, Decimal("12.5"), Decimal("9.0")])],
        kind="line",
        value_kind="days",
    )
    root = _parse(str(ln.svg()))
    # A month with no figure breaks the line: two runs, three points.
    assert len(root.findall(f".//{NS}polyline")) == 2
    assert len(root.findall(f".//{NS}circle")) == 3


def test_empty_charts_and_month_labels():
    assert Chart("e", "t", "d", ["Jan"], [Series("x", [0])]).is_empty
    assert not Chart("e", "t", "d", ["Jan"], [Series("x", [Decimal("1")])]).is_empty
    assert month_label("2026-03") == "Mar 26"
    many = Chart(
        "m",
        "t",
        "d",
        [f"M{i}" for i in range(60)],
        [Series("x", list(range(60)))],
        value_kind="int",
    )
    svg = str(many.svg())
    # At most a dozen axis labels, whatever the number of months.
    assert (
        len(re.findall(r'class="chart-tick" x="[\d.]+" y="[\d.]+" text-anchor="middle"', svg)) <= 12
    )
