"""Bearer-token authentication and JSON errors for the API."""

from __future__ import annotations

from flask import abort, current_app, g, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from advocate.api import bp, idempotency, openapi, ratelimit
from advocate.auth.access import PUBLIC, access_of
from advocate.auth.models import ApiToken, User, token_hash
from advocate.db import utcnow
from advocate.extensions import csrf, db
from tenants import set_current_tenant, set_db_user
from tenants.models import Membership
from tenants.scoping import lookup_token

csrf.exempt(bp)


class ApiError(HTTPException):
    """An error with field-level details: {"error": ..., "details": [...]}."""

    def __init__(self, code: int, message: str, details: list | None = None):
        super().__init__(description=message)
        self.code = code
        self.details = details or []


def api_error(code: int, message: str, details: list | None = None):
    raise ApiError(code, message, details)


ratelimit.install(bp)


@bp.errorhandler(HTTPException)
def _json_error(e: HTTPException):
    if isinstance(e, RateLimitExceeded):
        response = jsonify(
            error=f"too many requests for this token ({e.description}); retry later",
            details=[],
        )
        response.status_code = 429
        response.headers["Retry-After"] = str(ratelimit.retry_after_seconds())
        return response
    return jsonify(error=e.description or e.name, details=getattr(e, "details", []) or []), e.code


def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    h = token_hash(raw.strip())
    with lookup_token(h):
        tok = db.session.scalar(
            select(ApiToken).where(ApiToken.token_hash == h).execution_options(all_tenants=True)
        )
        if tok is None or tok.revoked_at is not None:
            return None
    # The token names its firm; the rest of the request runs in that scope.
    set_current_tenant(tok.tenant_id)
    membership = db.session.get(Membership, tok.membership_id)
    if membership is None or not membership.is_active or membership.is_practice:
        set_current_tenant(None)
        return None
    user = db.session.get(User, membership.user_id)
    if user is None or not user.is_active:
        return None
    return tok, membership, user


@bp.before_request
def _before():
    rule = access_of(request.endpoint)
    if request.endpoint is None:
        return None
    if rule is None:
        abort(403)
    if rule == PUBLIC:
        return None
    found = _authenticate()
    if found is None:
        api_error(401, "authentication required: send Authorization: Bearer <token>")
    tok, membership, user = found
    set_db_user(user.id)
    g.actor, g.membership, g.tenant, g.api_token = user, membership, membership.tenant, tok
    if membership.role not in rule:
        api_error(403, "your role does not allow this")
    now = utcnow()
    if tok.last_used_at is None or (now - tok.last_used_at).total_seconds() > 60:
        tok.last_used_at = now
        g.api_token_touched = True
    openapi.before_view(current_app.view_functions[request.endpoint])
    return idempotency.begin()


@bp.after_request
def _after(response):
    # Views commit their own work; this saves only the token's last-used time.
    if g.pop("api_token_touched", False) and response.status_code < 400:
        db.session.commit()
    elif response.status_code >= 400:
        # What an error left unsaved is dropped now, as the end of the request
        # would (a test client reusing this app context must not flush it later).
        db.session.rollback()
    idempotency.finish(response)
    if current_app.config.get("API_CHECK_RESPONSES"):
        openapi.check_response(response)
    return response
