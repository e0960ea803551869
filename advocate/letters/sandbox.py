"""Firm templates are Jinja, rendered in a sandbox that reaches nothing but
the merge fields it is given.

Two locks:
1. Before a template is saved, `check_template` walks its syntax tree: every
   name it reads must be a documented merge field of that letter type (or a
   loop variable over `lines`), filters and tests come from a short list, and
   there are no calls, imports, includes or attribute access on anything else.
   The error names the field and the line.
2. At render time `LetterSandbox` only resolves keys of plain dictionaries
   and items of plain lists: no attribute of any object (so no `__class__`,
   no `mro`, no method), no globals (`cycler`, `joiner`, `range`, `lipsum`,
   `namespace` are gone), no large string repetition. Undefined values raise
   (StrictUndefined) instead of printing nothing. It renders in a child
   process under a budget of CPU, memory, loop iterations and output
   (`advocate.template_budget`), so a slow or greedy template fails with the
   limit named and the web or RQ process carries on.

The context holds plain dictionaries of strings built for one case of the
firm in scope (`advocate.letters.document.merge_context`), so a template
cannot reach another firm's data: there is no object to follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, nodes

from advocate import template_budget
from advocate.letters.fields import GROUPS, LIST_FIELDS
from advocate.template_budget import MAX_OUTPUT_CHARS, MAX_REPEAT, LetterSandbox  # noqa: F401

MAX_TEMPLATE_CHARS = 20_000
_LOCAL = object()


class TemplateProblem(ValueError):
    """A template refused before saving or rendering: `problems` are
    (field, message) pairs, each naming the field or construct."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(m for _f, m in problems))


_ENV = template_budget.ENV


@dataclass
class _Walk:
    allowed: frozenset[str]
    is_nsa: bool
    problems: list[tuple[str, str]]

    def add(self, field: str, message: str) -> None:
        if (field, message) not in self.problems:
            self.problems.append((field, message))


def _path(node, scope: dict):
    """The merge-field path an expression names ("case.claim_number",
    "lines[].code"), _LOCAL for a template-local name, None when it is not a
    plain name or attribute chain."""
    if isinstance(node, nodes.Name):
        bound = scope.get(node.name)
        if bound is None:
            return node.name
        return bound
    if isinstance(node, nodes.Getattr):
        base = _path(node.node, scope)
        if base is None or base is _LOCAL:
            return base
        return f"{base}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        base = _path(node.node, scope)
        if base is None or base is _LOCAL:
            return base
        arg = node.arg
        if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
            return f"{base}.{arg.value}"
        if isinstance(arg, nodes.Const) and type(arg.value) is int:
            return f"{base}[]"
        return None
    return None


def _check_path(path: str, node, w: _Walk) -> None:
    line = getattr(node, "lineno", None)
    where = f" (line {line})" if line else ""
    if any(part.startswith("_") for part in re.split(r"[.\[\]]+", path) if part):
        w.add(path, f"“{path}”{where}: names starting with _ are not allowed")
        return
    if path in w.allowed:
        return
    if path in GROUPS or path.removesuffix("[]") in LIST_FIELDS:
        base = path.removesuffix("[]")
        prefix = f"{base}[]." if base in LIST_FIELDS else f"{base}."
        options = sorted(f for f in w.allowed if f.startswith(prefix))
        if options:
            w.add(
                path, f"“{path}”{where} is a group of fields: use one of {', '.join(options[:6])}"
            )
            return
    from advocate.letters.fields import FIELD_BY_NAME

    known = FIELD_BY_NAME.get(path)
    if known is not None and known.charge and w.is_nsa:
        w.add(
            path,
            f"unknown merge field “{path}”{where}: No Surprises Act letters may not show billed "
            "charges, Medicare or usual-and-customary figures",
        )
        return
    w.add(path, f"unknown merge field “{path}”{where}")


def _targets(node) -> list[str]:
    if isinstance(node, nodes.Name):
        return [node.name]
    if isinstance(node, nodes.Tuple):
        return [n for item in node.items for n in _targets(item)]
    return []


def _walk(node, scope: dict, w: _Walk) -> None:
    if isinstance(node, (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        w.add("template", f"line {node.lineno}: templates cannot include or import other templates")
        return
    if isinstance(node, nodes.For):
        _walk(node.iter, scope, w)
        iter_path = _path(node.iter, scope)
        inner = dict(scope)
        names = _targets(node.target)
        if isinstance(iter_path, str) and iter_path in LIST_FIELDS and len(names) == 1:
            inner[names[0]] = f"{iter_path}[]"
        else:
            for n in names:
                inner[n] = _LOCAL
        inner["loop"] = _LOCAL
        for child in (*node.body, *node.else_):
            _walk(child, inner, w)
        if node.test is not None:
            _walk(node.test, inner, w)
        return
    if isinstance(node, (nodes.Macro, nodes.CallBlock)):
        inner = dict(scope)
        for arg in node.args:
            inner[arg.name] = _LOCAL
        inner["caller"] = _LOCAL
        if isinstance(node, nodes.Macro):
            scope[node.name] = _LOCAL
        else:
            _walk(node.call, scope, w)
        for default in node.defaults:
            _walk(default, scope, w)
        for child in node.body:
            _walk(child, inner, w)
        return
    if isinstance(node, (nodes.Assign, nodes.AssignBlock)):
        if isinstance(node, nodes.Assign):
            _walk(node.node, scope, w)
        else:
            for child in node.body:
                _walk(child, scope, w)
        for n in _targets(node.target):
            scope[n] = _LOCAL
        return
    if isinstance(node, nodes.Call):
        callee = _path(node.node, scope)
        if callee is not _LOCAL:
            w.add("template", f"line {node.lineno}: templates cannot call functions")
            return
    if isinstance(node, nodes.Filter) and node.name not in _ENV.filters:
        w.add("template", f"line {node.lineno}: the filter “{node.name}” is not available")
    if isinstance(node, nodes.Test) and node.name not in _ENV.tests:
        w.add("template", f"line {node.lineno}: the test “{node.name}” is not available")
    if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem)):
        path = _path(node, scope)
        if path is _LOCAL:
            return
        if isinstance(path, str):
            _check_path(path, node, w)
            if isinstance(node, nodes.Getitem):
                _walk(node.arg, scope, w)
            return
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            w.add(
                "template",
                f"line {node.lineno}: only merge fields can be read (no attributes of other values)",
            )
            return
    for child in node.iter_child_nodes():
        _walk(child, scope, w)


def check_template(
    source: str, *, allowed: frozenset[str], is_nsa: bool, field: str = "body"
) -> list[tuple[str, str]]:
    """Problems with a template's text, each as (field name, message); [] when it may be saved."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return [(field, f"{field}: at most {MAX_TEMPLATE_CHARS:,} characters")]
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as err:
        return [(field, f"{field}: template syntax error on line {err.lineno}: {err.message}")]
    w = _Walk(allowed=allowed, is_nsa=is_nsa, problems=[])
    _walk(tree, {}, w)
    return [(field, f"{field}: {msg}") for _f, msg in w.problems]


def render(source: str, context: dict) -> str:
    """Render a (checked) template against plain merge data, in the sandbox
    child under its budget (`advocate.template_budget`)."""
    return render_all((source,), context)[0]


def render_all(sources: tuple[str, ...], context: dict) -> list[str]:
    """Render several templates (a letter's subject and body) against one
    context, in one trip to the sandbox child and under one budget."""
    kind, value = template_budget.render(sources, context)
    if kind == "ok":
        return value
    if kind == "security":
        raise TemplateProblem([("template", f"not allowed: {value}")])
    if kind == "undefined":
        raise TemplateProblem([("template", f"unknown merge field: {value}")])
    if kind == "budget":
        raise TemplateProblem([("template", value)])
    raise TemplateProblem([("template", f"the template failed: {value}")])
