"""What every HTML page shares: navigation by role, error pages, template
helpers. API routes answer errors in JSON."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask, current_app, g, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BuildError

from advocate.auth.access import MANAGERS, PRACTICE, STAFF
from tenants.models import ROLE_LABELS

# (order, section, label, endpoint, roles allowed). Features add their own
# entries with `register_nav` from their blueprint's __init__.
NAV: list[tuple[int, str, str, str, frozenset]] = []
SECTION_ORDER = {"Work": 0, "Practice": 1, "Firm": 2}


def register_nav(order: int, section: str, label: str, endpoint: str, allowed) -> None:
    entry = (order, section, label, endpoint, frozenset(allowed))
    if entry not in NAV:
        NAV.append(entry)
        NAV.sort(key=lambda e: (SECTION_ORDER.get(e[1], 9), e[0]))


register_nav(0, "Work", "Dashboard", "main.index", STAFF | PRACTICE)
register_nav(10, "Firm", "People", "onboarding.staff", MANAGERS)
register_nav(80, "Firm", "Email outbox", "onboarding.outbox", MANAGERS)
register_nav(90, "Firm", "Audit log", "audit.index", MANAGERS)
register_nav(95, "Firm", "API tokens", "auth.tokens", STAFF)


def _role_nav(role: str) -> tuple:
    """A role's entries with their URLs, built once per app, role and mount
    point (every page shows the menu; its ~30 url_for calls were per page)."""
    cache = current_app.extensions.setdefault("advocate_nav", {})
    key = (role, request.script_root, len(NAV))
    found = cache.get(key)
    if found is None:
        rows = []
        for _order, section, label, endpoint, allowed in NAV:
            if role not in allowed:
                continue
            try:
                url = url_for(endpoint)
            except BuildError:  # an endpoint this build does not have
                continue
            rows.append((section, label, url, endpoint))
        found = cache[key] = tuple(rows)
    return found


def _nav_items():
    m = g.get("membership")
    if m is None:
        return []
    current = request.endpoint or ""
    blueprint = current.split(".")[0]
    entries = [
        {"section": section, "label": label, "url": url, "endpoint": endpoint, "active": False}
        for section, label, url, endpoint in _role_nav(m.role)
    ]
    # One active item: the exact page, else the first entry of the same feature.
    exact = [e for e in entries if e["endpoint"] == current]
    same = [e for e in entries if e["endpoint"].split(".")[0] == blueprint and blueprint != "main"]
    for e in (exact or same)[:1]:
        e["active"] = True
    return entries


def _context():
    m = g.get("membership")
    return {
        "nav_items": _nav_items(),
        "current_tenant_name": m.tenant.name if m is not None else None,
        "current_role_label": ROLE_LABELS.get(m.role) if m is not None else None,
        "current_membership": m,
    }


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/stripe/")


def _error(e: HTTPException):
    if _wants_json():
        return jsonify(error=e.description or e.name, details=getattr(e, "details", []) or []), e.code
    template = f"errors/{e.code}.html" if e.code in (400, 403, 404, 422, 429) else "errors/500.html"
    return render_template(template, error=e), e.code


def _server_error(e):
    from advocate.extensions import db

    db.session.rollback()
    if _wants_json():
        return jsonify(error="internal error", details=[]), 500
    return render_template("errors/500.html", error=e), 500


def money(value) -> str:
    if value is None:
        return "—"
    return f"${Decimal(value):,.2f}"


def init_app(app: Flask) -> None:
    app.context_processor(_context)
    app.register_error_handler(HTTPException, _error)
    # A 500 handler (not Exception) so tests still see the original exception.
    app.register_error_handler(500, _server_error)
    app.jinja_env.filters["money"] = money
