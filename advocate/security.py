"""Per-request security: who is calling, which firm, may they, and the
headers every response carries."""

from __future__ import annotations

from flask import Flask, g, jsonify, redirect, request, url_for
from flask_login import current_user

from advocate.auth.access import enforce_html
from advocate.auth.sessions import load_session
from advocate.extensions import login_manager
from tenants import _current_tenant_id, _current_user_id, set_current_tenant

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)

API_PREFIX = "/api/"
WEBHOOK_PREFIX = "/stripe/"


def _is_machine_route() -> bool:
    return request.path.startswith(API_PREFIX) or request.path.startswith(WEBHOOK_PREFIX)


@login_manager.user_loader
def _load_user(token: str):
    return load_session(token)


@login_manager.unauthorized_handler
def _unauthorized():
    if _is_machine_route():
        return jsonify(error="authentication required", details=[]), 401
    return redirect(url_for("auth.login"))


def _before_request():
    # Start every request with nothing in scope, whatever this thread last did.
    g._ctx_tokens = (_current_tenant_id.set(None), _current_user_id.set(None))
    if _is_machine_route() or request.endpoint == "static":
        return None
    if current_user.is_authenticated:
        g.actor = current_user._get_current_object()
        g.membership = current_user.membership
        g.tenant = g.membership.tenant
        set_current_tenant(g.membership.tenant_id)
    return enforce_html()


def _teardown(exc):
    tokens = g.pop("_ctx_tokens", None)
    if tokens:
        _current_tenant_id.reset(tokens[0])
        _current_user_id.reset(tokens[1])


def _headers(response):
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure or _https():
        h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if request.endpoint != "static":
        # Pages and downloads carry PHI: never cache them anywhere. Set, not
        # defaulted: send_file would leave "no-cache" (a stored copy) otherwise.
        h["Cache-Control"] = "no-store"
        h["Pragma"] = "no-cache"
        h.pop("Expires", None)
    return response


def _https() -> bool:
    from flask import current_app

    return bool(current_app.config.get("HTTPS"))


def init_app(app: Flask) -> None:
    login_manager.session_protection = None  # the server-side session row is the protection
    app.before_request(_before_request)
    app.after_request(_headers)
    app.teardown_request(_teardown)
