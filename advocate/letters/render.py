"""PDF rendering with Typst (the `typst` package compiles in-process).

Chosen by measurement (bench/RESULTS-letters.md): Typst rendered our one-page
letter fastest of the engines tried and shapes every script we ship fonts for.
One compiler per layout per process keeps the parsed layout and the loaded fonts
between letters; each letter is only a new `sys.inputs.letter` JSON document.
Layouts: `letter.typ` (case letters) and `statement.typ` (a practice's fee
statement, built by `advocate.billing.statements`).

Fonts are vendored (advocate/letters/fonts, OFL and Apache-2.0): Noto Sans for
Latin, Greek, Cyrillic and Vietnamese; Noto Sans Arabic, Hebrew, Devanagari,
Thai, Armenian, Georgian; Droid Sans Fallback for Chinese, Japanese and
Korean. System fonts are ignored, so a letter renders the same on every
machine and a name never prints as boxes because a server lacks a font.

A process that has compiled a letter must not fork (the compiler's threads
may hold locks the child would inherit): RQ's work horses are forked from a
worker that never renders, and the benchmark spawns its processes.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAYOUT = HERE / "typst" / "letter.typ"
STATEMENT_LAYOUT = HERE / "typst" / "statement.typ"
FONT_DIR = HERE / "fonts"
# A fixed creation date: the same letter always gives the same bytes.
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

_lock = threading.Lock()
_compilers: dict[Path, object] = {}


class RenderError(RuntimeError):
    """Typst could not lay the letter out."""


def _get_compiler(layout: Path = LAYOUT):
    compiler = _compilers.get(layout)
    if compiler is None:
        import typst

        fonts = typst.Fonts(
            include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(FONT_DIR)]
        )
        compiler = typst.Compiler(str(layout), root=str(layout.parent), font_paths=fonts)
        _compilers[layout] = compiler
    return compiler


def _compile(document: dict, fmt: str, layout: Path = LAYOUT, **kw) -> bytes:
    import typst

    payload = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    with _lock:  # a compiler is one mutable world: one letter at a time per process
        try:
            out = _get_compiler(layout).compile(format=fmt, sys_inputs={"letter": payload}, **kw)
        except typst.TypstError as err:
            raise RenderError(f"the letter could not be laid out: {err.message}") from None
    if isinstance(out, list):
        out = out[0]
    return out


def render_pdf(document: dict, layout: Path = LAYOUT) -> bytes:
    """One letter (or, with ``STATEMENT_LAYOUT``, a fee statement) as PDF bytes
    (deterministic for the same document)."""
    return _compile(document, "pdf", layout, timestamp=_EPOCH)


def render_png(document: dict, ppi: int = 100) -> bytes:
    """The first page as PNG (previews and visual checks)."""
    return _compile(document, "png", ppi=ppi)


def font_families() -> list[str]:
    import typst

    return typst.Fonts(
        include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(FONT_DIR)]
    ).families()
