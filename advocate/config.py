"""Settings from the environment (12-factor). Nothing secret is committed."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into the instance folder."""
    env = os.environ.get("SECRET_KEY")
    if env:
        return env
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _base_url() -> str:
    """APP_BASE_URL: scheme and host (and any path prefix) of every absolute link
    the app writes (emails, Stripe return URLs). Never taken from a request."""
    raw = (os.environ.get("APP_BASE_URL") or "http://127.0.0.1:5000").strip().rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(
            f"APP_BASE_URL must be an http(s) URL with a host, e.g. https://advocate.example.com; got {raw!r}"
        )
    return raw


def _trusted_hosts(base_url: str) -> list[str]:
    """TRUSTED_HOSTS (comma-separated): the Host values a request may carry.
    Default: APP_BASE_URL's host, plus 127.0.0.1 and localhost when that host
    is a loopback name (development)."""
    raw = os.environ.get("TRUSTED_HOSTS")
    if raw:
        return [h.strip() for h in raw.split(",") if h.strip()]
    host = urlsplit(base_url).hostname
    hosts = [host]
    if host in LOOPBACK_HOSTS:
        hosts += [h for h in LOOPBACK_HOSTS if h != host]
    return hosts


LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def normalise_db_url(url: str) -> str:
    """Accept plain postgres:// URLs and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load(instance_path: Path) -> dict:
    instance_path.mkdir(parents=True, exist_ok=True)
    db_url = normalise_db_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'advocate.db'}"
    )
    redis_url = os.environ.get("REDIS_URL") or None
    https = _bool("HTTPS", False)
    base_url = _base_url()
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": db_url,
        # Migrations run as the schema owner; the app connects as a role that owns nothing.
        "MIGRATION_DATABASE_URL": normalise_db_url(
            os.environ.get("MIGRATION_DATABASE_URL") or db_url
        ),
        "APP_DB_ROLE": os.environ.get("APP_DB_ROLE", "advocate_app"),
        # hide_parameters: a database error's message never carries the values (PHI) it was given.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "SENTRY_DSN": os.environ.get("SENTRY_DSN") or None,
        # Webhook endpoints must be https:// unless this is set (local development, tests).
        "WEBHOOKS_ALLOW_HTTP": _bool("WEBHOOKS_ALLOW_HTTP", False),
        # Let webhooks reach loopback/private/link-local addresses (tests only: it turns
        # off the SSRF guard in advocate.webhooks.safe_http). Never set in production.
        "WEBHOOKS_ALLOW_PRIVATE": _bool("WEBHOOKS_ALLOW_PRIVATE", False),
        "SENTRY_ENVIRONMENT": os.environ.get("SENTRY_ENVIRONMENT") or None,
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json"),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Requests per API token (limits syntax, e.g. "600 per minute;20000 per day").
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600 per minute"),
        # How long an Idempotency-Key's first answer is kept for retries.
        "IDEMPOTENCY_HOURS": int(os.environ.get("IDEMPOTENCY_HOURS", "24")),
        "STORAGE_BACKEND": os.environ.get("STORAGE_BACKEND")
        or ("s3" if os.environ.get("S3_BUCKET") else "local"),
        "STORAGE_LOCAL_ROOT": os.environ.get("STORAGE_LOCAL_ROOT")
        or str(instance_path / "documents"),
        "S3_BUCKET": os.environ.get("S3_BUCKET"),
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL"),
        "S3_REGION": os.environ.get("S3_REGION", "us-east-1"),
        "S3_PREFIX": os.environ.get("S3_PREFIX", ""),
        "S3_SSE": os.environ.get("S3_SSE", "AES256"),
        "S3_KMS_KEY_ID": os.environ.get("S3_KMS_KEY_ID"),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_BYTES", str(25 * 1024 * 1024))),
        "SMTP_HOST": os.environ.get("SMTP_HOST"),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "587")),
        "SMTP_USER": os.environ.get("SMTP_USER"),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD"),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", True),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Advocate <no-reply@advocate.local>"),
        "OUTBOX_DIR": str(instance_path / "outbox"),
        "STRIPE_API_KEY": os.environ.get("STRIPE_API_KEY"),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE"),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET"),
        "APP_BASE_URL": base_url,
        # Flask 3.1 answers 400 to any other Host header.
        "TRUSTED_HOSTS": _trusted_hosts(base_url),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are
        # believed (werkzeug ProxyFix); 0 = none, the socket's peer is the client.
        "PROXY_HOPS": int(os.environ.get("PROXY_HOPS", "0")),
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "HTTPS": https,
        # With HTTPS the __Host- prefix: the browser keeps it only if Secure, for
        # this exact host and path /, so a sibling subdomain cannot plant or
        # overwrite it.
        "SESSION_COOKIE_NAME": "__Host-advocate_session" if https else "advocate_session",
        "SESSION_COOKIE_PATH": "/",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "SESSION_IDLE_TIMEOUT": timedelta(
            minutes=int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
        ),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(
            hours=int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12"))
        ),
        "LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR": int(
            os.environ.get("LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR", "100")
        ),
        "LOGIN_ATTEMPTS_PER_IP": os.environ.get(
            "LOGIN_ATTEMPTS_PER_IP", "30 per minute;300 per hour"
        ),
        "PASSWORD_RESET_MAX_AGE": int(os.environ.get("PASSWORD_RESET_MAX_AGE", "3600")),
        "EMAIL_VERIFY_MAX_AGE": int(os.environ.get("EMAIL_VERIFY_MAX_AGE", str(24 * 3600))),
        "INVITATION_DAYS": int(os.environ.get("INVITATION_DAYS", "7")),
        "WTF_CSRF_TIME_LIMIT": None,
        "PAGE_SIZE": 25,
        # Built dashboards kept in Redis per firm and filter (advocate.reports.cache); 0 = off.
        "REPORTS_CACHE_SECONDS": int(os.environ.get("REPORTS_CACHE_SECONDS", "60")),
        # A caseload count above 1,000 kept in Redis per firm and filter (cases.queries.count_cases).
        "CASE_COUNT_CACHE_SECONDS": int(os.environ.get("CASE_COUNT_CACHE_SECONDS", "60")),
        # The background re-benchmark of a firm's caseload: parts computed at once,
        # one database connection each (advocate.rates.benchmark); 1 = one connection.
        "BENCHMARK_PARALLEL": int(os.environ.get("BENCHMARK_PARALLEL", "2")),
    }
