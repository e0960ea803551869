"""Who may call which view: every endpoint declares it, and one check before
each request enforces it. An endpoint that declares nothing is refused (fail
closed), and a test walks the URL map to keep it that way."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, url_for

from tenants.models import ALL_ROLES, MANAGER_ROLES, PRACTICE_ROLES, STAFF_ROLES, WORKER_ROLES

PUBLIC = "public"
PENDING = "pending"  # half-logged-in: password done, two-factor not yet
ANY = frozenset(ALL_ROLES)
STAFF = frozenset(STAFF_ROLES)
WORKERS = frozenset(WORKER_ROLES)
MANAGERS = frozenset(MANAGER_ROLES)
OWNERS = frozenset({"owner"})
PRACTICE = frozenset(PRACTICE_ROLES)
READERS = ANY  # pages practice users may read as well (their own practice's data)


def public(view: Callable) -> Callable:
    view._access = PUBLIC
    return view


def pending(view: Callable) -> Callable:
    view._access = PENDING
    return view


def roles(allowed: Iterable[str]) -> Callable[[Callable], Callable]:
    allowed = frozenset(allowed)

    def decorate(view: Callable) -> Callable:
        view._access = allowed
        return view

    return decorate


def access_of(endpoint: str | None):
    if endpoint is None:
        return None
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return None
    if endpoint == "static":
        return PUBLIC
    return getattr(view, "_access", None)


def membership():
    return g.get("membership")


def has_role(*allowed: str) -> bool:
    m = membership()
    return m is not None and m.role in allowed


def is_safe_next(target: str | None) -> bool:
    """Only same-site paths: no scheme, no host, no protocol-relative or
    backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default_endpoint: str = "main.index") -> str:
    return target if is_safe_next(target) else url_for(default_endpoint)


def enforce_html() -> object | None:
    """before_request for HTML routes (API routes enforce their own)."""
    rule_access = access_of(request.endpoint)
    if request.endpoint is None:
        return None  # 404 / 405 handled by Flask
    if rule_access is None:
        current_app.logger.error("endpoint %s declares no access rule; refused", request.endpoint)
        abort(403)
    if rule_access in (PUBLIC, PENDING):
        return None
    m = membership()
    if m is None:
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return redirect(url_for("auth.login"))
    if m.role not in rule_access:
        abort(403)
    return None
