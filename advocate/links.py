"""Absolute links the app hands out (emails, Stripe return URLs).

They are built from the configured APP_BASE_URL, never from the request's
Host header: a request with `Host: evil.example` must not be able to make the
app mail a genuine token on a link to another site (password-reset poisoning).
The same function works in a request, an RQ job or a CLI command.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of `endpoint` under APP_BASE_URL."""
    base = urlsplit(current_app.config["APP_BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
