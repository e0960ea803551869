"""Server-side request forgery guard for outbound webhooks.

A firm names the URL we POST to, so a URL pointing into our own network
(loopback, private ranges, the cloud metadata service at 169.254.169.254, ...)
would let it probe or attack what sits behind us. The host is resolved and every
address it resolves to must be public: checked when the endpoint is registered,
and again at each delivery *on the address the socket actually connects to*
(the connection is made to the checked address itself, so a DNS answer that
changes between the check and the connect cannot switch it). Redirects are
never followed, and no environment proxy is used.

``WEBHOOKS_ALLOW_PRIVATE`` turns the address check off (tests that deliver to a
receiver on 127.0.0.1); it must stay off in production.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from flask import current_app, has_app_context
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.poolmanager import PoolManager

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeAddress(ValueError):
    """The host resolves to (or is) an address we must not connect to."""


def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be called, or None if it is a public unicast address."""
    mapped = getattr(ip, "ipv4_mapped", None) or getattr(ip, "sixtofour", None)
    if mapped is not None:
        return address_problem(mapped)
    teredo = getattr(ip, "teredo", None)
    if teredo is not None:
        return address_problem(teredo[1])
    for attr, why in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private network address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, attr):
            return why
    if not ip.is_global:  # e.g. 100.64.0.0/10 (carrier-grade NAT), documentation ranges
        return "a non-public address"
    return None


def allow_private() -> bool:
    return bool(has_app_context() and current_app.config.get("WEBHOOKS_ALLOW_PRIVATE"))


def resolve(host: str, port: int) -> list[tuple]:
    """getaddrinfo for a TCP connection to ``host``; every address must be public
    (unless WEBHOOKS_ALLOW_PRIVATE). Raises UnsafeAddress."""
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeAddress(f"the host {host!r} could not be found") from exc
    if not infos:
        raise UnsafeAddress(f"the host {host!r} could not be found")
    if not allow_private():
        for *_, sockaddr in infos:
            ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            why = address_problem(ip)
            if why is not None:
                raise UnsafeAddress(f"the host {host!r} is {why}")
    return infos


def check_url(url: str) -> None:
    """Raise UnsafeAddress unless the URL's host resolves only to public addresses."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeAddress("the port is not a number") from exc
    if not parts.hostname:
        raise UnsafeAddress("the address has no host")
    resolve(parts.hostname, port)


def _connect_checked(conn: HTTPConnection) -> socket.socket:
    """Open the TCP connection to an address that passed the check (never re-resolved)."""
    try:
        infos = resolve(conn._dns_host, conn.port)
    except UnsafeAddress as exc:
        raise NewConnectionError(conn, f"refused: {exc}") from exc
    last: OSError | None = None
    for family, socktype, proto, _, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            for opt in conn.socket_options or []:
                sock.setsockopt(*opt)
            timeout = conn.timeout
            sock.settimeout(timeout if isinstance(timeout, (int, float)) else None)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            last = exc
            sock.close()
    raise NewConnectionError(conn, f"could not connect: {type(last).__name__}")


class _SafeHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_checked(self)


class _SafeHTTPSConnection(HTTPSConnection):
    # TLS still verifies the certificate against the host name (server_hostname).
    def _new_conn(self) -> socket.socket:
        return _connect_checked(self)


class _SafeHTTPPool(HTTPConnectionPool):
    ConnectionCls = _SafeHTTPConnection


class _SafeHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _SafeHTTPSConnection


class _SafePoolManager(PoolManager):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pool_classes_by_scheme = {"http": _SafeHTTPPool, "https": _SafeHTTPSPool}


class _SafeAdapter(HTTPAdapter):
    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        self.poolmanager = _SafePoolManager(
            num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def proxy_manager_for(self, proxy, **proxy_kwargs):  # never through a proxy
        raise requests.exceptions.InvalidURL("webhooks are not sent through a proxy")


def post(url: str, **kwargs) -> requests.Response:
    """requests.post through the guard: no redirects, no environment proxies."""
    with requests.Session() as session:
        session.trust_env = False
        session.max_redirects = 0
        adapter = _SafeAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session.post(url, allow_redirects=False, **kwargs)
