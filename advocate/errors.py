"""Error reporting to Sentry, when SENTRY_DSN is set (sentry-sdk is optional:
``pip install 'advocate[sentry]'``).

What leaves the building is scrubbed of PHI in ``before_send``: no request
body, query string, cookies or headers (a bearer token, a session), no local
variables, no exception messages (they can quote a patient's name or a claim
number: the type, the stack and the request id are enough to find the log
line), no log breadcrumb text, and the user only by id. Events carry the
request id, the firm id and the route pattern as tags.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context, request

SAFE_HEADERS = {"user-agent", "content-type", "content-length", "x-request-id"}


def scrub(event: dict, hint: dict | None = None) -> dict:
    """Remove anything that can carry PHI or a secret from a Sentry event."""
    req = event.get("request")
    if isinstance(req, dict):
        url = str(req.get("url") or "")
        event["request"] = {
            "method": req.get("method"),
            "url": url.split("?", 1)[0],
            "headers": {
                k: v for k, v in (req.get("headers") or {}).items() if k.lower() in SAFE_HEADERS
            },
        }
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if user.get("id") is not None else {}
    for exc in (event.get("exception") or {}).get("values") or []:
        if exc.get("value"):
            exc["value"] = "[scrubbed]"
        for frame in (exc.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    if "logentry" in event:
        event["logentry"] = {"message": "[scrubbed]"}
    if "message" in event:
        event["message"] = "[scrubbed]"
    crumbs = event.get("breadcrumbs")
    values = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
    for crumb in values or []:
        crumb.pop("data", None)
        if crumb.get("message"):
            crumb["message"] = "[scrubbed]"
    event.pop("extra", None)
    tags = event.setdefault("tags", {})
    if has_request_context():
        from tenants import current_tenant_id

        if g.get("request_id"):
            tags["request_id"] = g.request_id
        if current_tenant_id() is not None:
            tags["firm_id"] = str(current_tenant_id())
        if request.url_rule is not None:
            tags["route"] = request.url_rule.rule
        actor = g.get("actor")
        if getattr(actor, "id", None) is not None:
            event["user"] = {"id": str(actor.id)}
    return event


def init_app(app: Flask) -> bool:
    """Start Sentry when SENTRY_DSN is configured; returns whether it did."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=app.config.get("SENTRY_ENVIRONMENT") or "production",
        integrations=[FlaskIntegration()],
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,
        before_send=scrub,
    )
    return True
