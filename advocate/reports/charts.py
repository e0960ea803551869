"""Server-side SVG charts: bars (vertical or horizontal, stacked or not) and
lines. No JavaScript and no network; no style= attributes (the CSP forbids
them): colours come from presentation attributes, which the stylesheet's
classes override (print included). Every chart is an `<svg role="img">` with
a `<title>` and a `<desc>` that says what it shows, a `<title>` on every bar
or point, and the same numbers as a table (`Chart.labels` / `Chart.series`)
that the page renders under it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from markupsafe import Markup

from advocate.reports.tables import display

# Colour-blind-safe palette (Okabe–Ito, darkened for contrast on white).
PALETTE = ("#0f766e", "#d55e00", "#0072b2", "#b8860b", "#cc79a7", "#56b4e9", "#009e73", "#5b6570")
_ids = itertools.count(1)

W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 14, 42
HBAR_ROW = 24
HBAR_LEFT = 170


@dataclass
class Series:
    name: str
    values: list  # Decimal | int | None, one per label


@dataclass
class Chart:
    key: str
    title: str
    desc: str
    labels: list[str]
    series: list[Series]
    kind: str = "bar"  # bar | stacked | line
    value_kind: str = "money"  # how values read: money | int | days | percent
    horizontal: bool = False
    label_heading: str = ""
    uid: str = field(default_factory=lambda: f"chart-{next(_ids)}")

    @property
    def is_empty(self) -> bool:
        return not any(v for s in self.series for v in s.values if v)

    def svg(self) -> Markup:
        if self.horizontal:
            return Markup(_hbars(self))  # noqa: S704 - every text in it is escaped
        return Markup(_line(self) if self.kind == "line" else _vbars(self))  # noqa: S704 - escaped


def month_label(key: str) -> str:
    """'2026-03' -> 'Mar 26'."""
    y, m = key.split("-")
    return date(int(y), int(m), 1).strftime("%b %y")


# --------------------------------------------------------------------------- scales


def _num(v) -> float:
    return float(v) if v is not None else 0.0


def _nice_step(span: float, ticks: int = 4) -> float:
    if span <= 0:
        return 1.0
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _bounds(chart: Chart) -> tuple[float, float, float]:
    if chart.kind == "stacked":
        highs = [
            sum(max(_num(s.values[i]), 0) for s in chart.series) for i in range(len(chart.labels))
        ]
        lows = [
            sum(min(_num(s.values[i]), 0) for s in chart.series) for i in range(len(chart.labels))
        ]
    else:
        highs = lows = [_num(v) for s in chart.series for v in s.values]
    hi, lo = max([0.0, *highs]), min([0.0, *lows])
    if chart.value_kind == "percent":
        hi = max(hi, 100.0) if hi > 50 else hi
    step = _nice_step(hi - lo)
    if chart.value_kind == "int":
        step = max(step, 1.0)  # counts have no half ticks
    hi = math.ceil(hi / step) * step if hi > 0 else 0.0
    lo = math.floor(lo / step) * step if lo < 0 else 0.0
    if hi == lo:
        hi = lo + step
    return lo, hi, step


def _axis_text(v: float, kind: str) -> str:
    if kind == "money":
        a = abs(v)
        sign = "-" if v < 0 else ""
        if a >= 1_000_000:
            return f"{sign}${a / 1_000_000:.1f}M".replace(".0M", "M")
        if a >= 1_000:
            return f"{sign}${a / 1_000:.1f}k".replace(".0k", "k")
        return f"{sign}${a:.0f}"
    if kind == "percent":
        return f"{v:.0f}%"
    return f"{v:g}"


def _value_text(v, kind: str) -> str:
    if v is None:
        return "no figure"
    return display(Decimal(str(v)) if kind != "int" else int(v), kind)


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _open(chart: Chart, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{chart.kind}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="{chart.uid}-title {chart.uid}-desc" '
        f'data-chart="{escape(chart.key)}" font-family="inherit" font-size="11">',
        f'<title id="{chart.uid}-title">{escape(chart.title)}</title>',
        f'<desc id="{chart.uid}-desc">{escape(chart.desc)}</desc>',
    ]


def _legend(chart: Chart, y: int, x0: int) -> list[str]:
    if len(chart.series) < 2:
        return []
    out, x = ['<g class="chart-legend" aria-hidden="true">'], x0
    for i, s in enumerate(chart.series):
        out.append(
            f'<rect class="chart-s{i}" x="{x}" y="{y}" width="10" height="10" fill="{_colour(i)}"/>'
        )
        out.append(
            f'<text class="chart-label" x="{x + 14}" y="{y + 9}" fill="#3d4650">{escape(s.name)}</text>'
        )
        x += 24 + 7 * len(s.name)
    out.append("</g>")
    return out


def _ticks(lo: float, hi: float, step: float):
    """The value axis's ticks from `lo` to `hi`: (value, class, stroke), the
    zero line darker than the grid."""
    for i in range(int(round((hi - lo) / step)) + 1):
        v = lo + i * step
        cls = "chart-zero" if abs(v) < 1e-9 else "chart-grid"
        yield v, cls, "#8a939c" if cls == "chart-zero" else "#e2e5e9"


def _yaxis(lo: float, hi: float, step: float, kind: str, y_of, width: int) -> list[str]:
    out = ['<g class="chart-axis" aria-hidden="true">']
    for v, cls, stroke in _ticks(lo, hi, step):
        y = y_of(v)
        out.append(
            f'<line class="{cls}" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{stroke}"/>'
        )
        out.append(
            f'<text class="chart-tick" x="{LEFT - 6}" y="{y + 3.5:.1f}" text-anchor="end" fill="#5b6570">'
            f"{escape(_axis_text(v, kind))}</text>"
        )
    out.append("</g>")
    return out


def _xlabels(labels: list[str], x_of, y: float) -> list[str]:
    every = max(1, math.ceil(len(labels) / 12))
    out = ['<g class="chart-axis" aria-hidden="true">']
    for i, label in enumerate(labels):
        if i % every == 0:
            out.append(
                f'<text class="chart-tick" x="{x_of(i):.1f}" y="{y:.1f}" text-anchor="middle" fill="#5b6570">'
                f"{escape(label)}</text>"
            )
    out.append("</g>")
    return out


def _tip(chart: Chart, label: str, s: Series, v) -> str:
    name = f"{s.name}: " if len(chart.series) > 1 or s.name else ""
    return escape(f"{label} — {name}{_value_text(v, chart.value_kind)}")


# --------------------------------------------------------------------------- kinds


def _columns_open(chart: Chart):
    """The frame shared by vertical bars and lines (one band per label):
    the SVG's opening, its y axis, and the data group left open; with the
    band width and the x/y scales."""
    legend_h = 20 if len(chart.series) > 1 else 0
    width, height = W, H + legend_h
    lo, hi, step = _bounds(chart)
    plot_h = H - TOP - BOTTOM
    n = max(1, len(chart.labels))
    band = (width - LEFT - RIGHT) / n

    def y_of(v: float) -> float:
        return TOP + (hi - v) / (hi - lo) * plot_h

    def x_of(i: int) -> float:
        return LEFT + band * (i + 0.5)

    out = _open(chart, width, height)
    out += _yaxis(lo, hi, step, chart.value_kind, y_of, width)
    out.append('<g class="chart-data">')
    return out, band, x_of, y_of


def _columns_close(chart: Chart, out: list[str], x_of) -> str:
    """Close what `_columns_open` opened: data group, x labels, legend."""
    out.append("</g>")
    out += _xlabels(chart.labels, x_of, H - BOTTOM + 16)
    out += _legend(chart, H - 8, LEFT)
    out.append("</svg>")
    return "".join(out)


def _vbars(chart: Chart) -> str:
    out, band, x_of, y_of = _columns_open(chart)
    stacked = chart.kind == "stacked"
    groups = 1 if stacked else max(1, len(chart.series))
    bar_w = max(1.0, min(band * 0.72, 64.0 * groups) / groups)  # one wide band: not a wall
    for i, label in enumerate(chart.labels):
        pos_base, neg_base = 0.0, 0.0
        for j, s in enumerate(chart.series):
            v = s.values[i]
            fv = _num(v)
            if stacked:
                x = x_of(i) - bar_w / 2
                if fv >= 0:
                    y0, y1 = pos_base, pos_base + fv
                    pos_base = y1
                else:
                    y0, y1 = neg_base + fv, neg_base
                    neg_base = y0
            else:
                x = x_of(i) - bar_w * groups / 2 + j * bar_w
                y0, y1 = min(0.0, fv), max(0.0, fv)
            top, bottom = y_of(y1), y_of(y0)
            h = max(0.0, bottom - top)
            out.append(
                f'<rect class="chart-bar chart-s{j}" x="{x:.1f}" y="{top:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{_colour(j)}"><title>{_tip(chart, label, s, v)}</title></rect>'
            )
    return _columns_close(chart, out, x_of)


def _line(chart: Chart) -> str:
    out, _band, x_of, y_of = _columns_open(chart)
    for j, s in enumerate(chart.series):
        # A gap in the data (no figure) breaks the line rather than drawing a zero.
        runs, run = [], []
        for i, v in enumerate(s.values):
            if v is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(f"{x_of(i):.1f},{y_of(_num(v)):.1f}")
        if run:
            runs.append(run)
        for r in runs:
            out.append(
                f'<polyline class="chart-line chart-s{j}" points="{" ".join(r)}" fill="none" '
                f'stroke="{_colour(j)}" stroke-width="2"/>'
            )
        for i, v in enumerate(s.values):
            if v is None:
                continue
            out.append(
                f'<circle class="chart-point chart-s{j}" cx="{x_of(i):.1f}" cy="{y_of(_num(v)):.1f}" r="3" '
                f'fill="{_colour(j)}"><title>{_tip(chart, chart.labels[i], s, v)}</title></circle>'
            )
    return _columns_close(chart, out, x_of)


def _short(label: str, n: int = 26) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _hbars(chart: Chart) -> str:
    legend_h = 22 if len(chart.series) > 1 else 0
    rows = max(1, len(chart.labels))
    width = W
    height = TOP + rows * HBAR_ROW + 26 + legend_h
    lo, hi, step = _bounds(chart)
    plot_w = width - HBAR_LEFT - RIGHT - 8

    def x_of(v: float) -> float:
        return HBAR_LEFT + (v - lo) / (hi - lo) * plot_w

    out = _open(chart, width, height)
    axis_y = TOP + rows * HBAR_ROW
    out.append('<g class="chart-axis" aria-hidden="true">')
    for v, cls, stroke in _ticks(lo, hi, step):
        x = x_of(v)
        out.append(
            f'<line class="{cls}" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{axis_y}" stroke="{stroke}"/>'
        )
        out.append(
            f'<text class="chart-tick" x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#5b6570">'
            f"{escape(_axis_text(v, chart.value_kind))}</text>"
        )
    out.append("</g>")
    out.append('<g class="chart-data">')
    stacked = chart.kind == "stacked"
    groups = 1 if stacked else max(1, len(chart.series))
    bar_h = HBAR_ROW * 0.7 / groups
    for i, label in enumerate(chart.labels):
        y_mid = TOP + HBAR_ROW * (i + 0.5)
        out.append(
            f'<text class="chart-label" x="{HBAR_LEFT - 8}" y="{y_mid + 4:.1f}" text-anchor="end" fill="#3d4650">'
            f"<title>{escape(label)}</title>{escape(_short(label))}</text>"
        )
        base = 0.0
        for j, s in enumerate(chart.series):
            v = s.values[i]
            fv = _num(v)
            if stacked:
                x0, x1 = (base, base + fv) if fv >= 0 else (base + fv, base)
                base = base + fv if fv >= 0 else base
                y = y_mid - bar_h / 2
            else:
                x0, x1 = min(0.0, fv), max(0.0, fv)
                y = y_mid - HBAR_ROW * 0.35 + j * bar_h
            left, right = x_of(x0), x_of(x1)
            out.append(
                f'<rect class="chart-bar chart-s{j}" x="{left:.1f}" y="{y:.1f}" width="{max(0.0, right - left):.1f}" '
                f'height="{bar_h:.1f}" fill="{_colour(j)}"><title>{_tip(chart, label, s, v)}</title></rect>'
            )
    out.append("</g>")
    out += _legend(chart, axis_y + 24, HBAR_LEFT)
    out.append("</svg>")
    return "".join(out)
