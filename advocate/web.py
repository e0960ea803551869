"""What every HTML page shares: navigation by role, error pages, template
helpers. API routes answer errors in JSON."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask, current_app, g, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException, SecurityError
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


# The firm's settings: one "Settings" item in the menu, a page that lists
# them (advocate.main.views.settings), and that item lit on any of them.
# (endpoint, description); the label and roles stay those of register_nav.
SETTINGS: dict[str, str] = {
    "billing.invoices": "Fee invoices to client practices, and sending them.",
    "billing.stripe_settings": "The firm's own Stripe account that invoices are sent through.",
    "deadlines.closures": "Days the firm is closed, which deadline counting skips.",
    "deadlines.state_laws": "State surprise-billing laws and their deadlines.",
    "letters.templates": "The letter templates advocates generate letters from.",
    "onboarding.outbox": "Email the app has sent (invitations, password resets).",
    "documents.deleted": "Documents deleted in the last days, to restore or purge.",
    "audit.index": "Who read or changed what, protected health information included.",
    "auth.tokens": "API tokens for other systems to use the API.",
    "webhooks.index": "Webhook endpoints the app notifies when cases change.",
}

register_nav(0, "Work", "Dashboard", "main.index", STAFF | PRACTICE)
register_nav(99, "Firm", "Settings", "main.settings", STAFF)
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


def settings_for(role: str) -> list[dict]:
    """The settings pages this role may open: label, url, endpoint, description."""
    return [
        {"label": label, "url": url, "endpoint": endpoint, "description": SETTINGS[endpoint]}
        for _section, label, url, endpoint in _role_nav(role)
        if endpoint in SETTINGS
    ]


def _prefix(url: str, path: str) -> int:
    """How much of the path this menu URL covers (-1: none); "/" only itself."""
    base = url.rstrip("/")
    if not base:
        return 0 if path == "/" else -1
    return len(base) if path == base or path.startswith(base + "/") else -1


def _nav_items():
    m = g.get("membership")
    if m is None:
        return []
    current = request.endpoint or ""
    rows = _role_nav(m.role)
    entries = [
        {"section": section, "label": label, "url": url, "endpoint": endpoint, "active": False}
        for section, label, url, endpoint in rows
        if endpoint not in SETTINGS
    ]
    if not any(endpoint in SETTINGS for *_rest, endpoint in rows):
        entries = [e for e in entries if e["endpoint"] != "main.settings"]
    # One active item: the exact page, else the menu URL that covers most of
    # the path (a case's pages light "Cases", a scorecard "Payer scorecards"),
    # else the first entry of the same feature. A settings page lights Settings.
    by_endpoint = {e["endpoint"]: e for e in entries}
    settings_entry = by_endpoint.get("main.settings")

    def shown(endpoint):
        return settings_entry if endpoint in SETTINGS else by_endpoint.get(endpoint)

    active = shown(current) if any(ep == current for *_r, ep in rows) else None
    if active is None:
        best = max(rows, key=lambda r: _prefix(r[2], request.path), default=None)
        if best is not None and _prefix(best[2], request.path) > 0:
            active = shown(best[3])
    if active is None:
        blueprint = current.split(".")[0]
        same = [
            e for e in entries if e["endpoint"].split(".")[0] == blueprint and blueprint != "main"
        ]
        active = same[0] if same else None
    if active is not None:
        active["active"] = True
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
    if isinstance(e, SecurityError):
        # A Host outside TRUSTED_HOSTS: no URL can be built for it, and the
        # answer names nothing about the app.
        return "Bad Request: unknown host.\n", 400, {"Content-Type": "text/plain; charset=utf-8"}
    if _wants_json():
        return jsonify(
            error=e.description or e.name, details=getattr(e, "details", []) or []
        ), e.code
    template = (
        f"errors/{e.code}.html" if e.code in (400, 403, 404, 413, 422, 429) else "errors/500.html"
    )
    # A description given to abort() says what was wrong; the class default says nothing.
    message = e.description if e.description != type(e).description else None
    return render_template(template, error=e, message=message), e.code


def _server_error(e):
    from advocate.extensions import db

    db.session.rollback()
    if _wants_json():
        return jsonify(error="internal error", details=[]), 500
    # The request id (also in the X-Request-ID header and the log line) lets support find it.
    return render_template("errors/500.html", error=e, error_id=g.get("request_id")), 500


def money(value) -> str:
    if value is None:
        return "—"
    return f"${Decimal(value):,.2f}"


def firm_zone():
    """The firm's time zone in a request (UTC outside one or when unset)."""
    from datetime import UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from flask import g, has_request_context

    tenant = getattr(g, "tenant", None) if has_request_context() else None
    try:
        return ZoneInfo(tenant.timezone) if tenant is not None and tenant.timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def firm_local(value):
    """A timestamp in the firm's time zone: one zone per page (issue 17); a
    naive value or a date passes through."""
    if getattr(value, "tzinfo", None) is None:
        return value
    return value.astimezone(firm_zone())


def init_app(app: Flask) -> None:
    app.context_processor(_context)
    app.add_template_global(firm_local, "firm_local")
    app.register_error_handler(HTTPException, _error)
    # A 500 handler (not Exception) so tests still see the original exception.
    app.register_error_handler(500, _server_error)
    app.jinja_env.filters["money"] = money
