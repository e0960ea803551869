"""Production gunicorn settings: `gunicorn --config gunicorn.conf.py wsgi:app`
(`make serve`). Every value can be set from the environment.

Forwarded headers: the app believes X-Forwarded-For/-Proto from exactly
PROXY_HOPS proxies (werkzeug ProxyFix, see advocate/__init__.py). Gunicorn is
told the same thing: with PROXY_HOPS=0 it trusts no peer's forwarded headers
(a client cannot claim https or another address); with proxies it trusts them
only from FORWARDED_ALLOW_IPS (default: the proxy on this machine).
"""

import multiprocessing
import os
import re

from gunicorn.glogging import Logger

# Processes, not threads: a request is mostly Python between short queries
# (bench/RESULTS.md). About two per core.
workers = int(os.environ.get("WEB_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("WEB_THREADS") or 1)
bind = os.environ.get("WEB_BIND") or "0.0.0.0:8000"  # noqa: S104 - behind TLS and a proxy

# A request that runs longer than this is killed and its worker replaced;
# a deploy lets requests in flight finish for graceful_timeout.
timeout = int(os.environ.get("WEB_TIMEOUT") or 30)
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT") or 30)
keepalive = int(os.environ.get("WEB_KEEPALIVE") or 5)
# Recycle workers now and then (memory growth), staggered so they never all restart at once.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS") or 2000)
max_requests_jitter = max_requests // 10
limit_request_line = 8190
limit_request_fields = 100

PROXY_HOPS = int(os.environ.get("PROXY_HOPS") or 0)
if PROXY_HOPS > 0:
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"
else:
    forwarded_allow_ips = ""
    secure_scheme_headers = {}

accesslog = os.environ.get("WEB_ACCESS_LOG") or "-"
errorlog = os.environ.get("WEB_ERROR_LOG") or "-"
loglevel = os.environ.get("WEB_LOG_LEVEL") or "info"
# Peer, forwarded-for (what the app believes with PROXY_HOPS), request, status,
# bytes, duration in ms, user agent. No query strings, no referer, no cookies.
access_log_format = (
    '%(h)s fwd=%({x-forwarded-for}i)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
)

# Links mailed to people carry one-time secrets in their path (password
# resets, invitations, sign-up confirmations): the access log keeps the route.
_SECRET_PATH = re.compile(r"^(/password/reset/|/invitations/accept/|/signup/confirm/)[^/?\s]+")


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = _SECRET_PATH.sub(r"\1[redacted]", atoms.get("U") or "")
        return atoms


logger_class = RedactingLogger
