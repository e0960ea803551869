"""A small Stripe-compatible HTTP server for what localstripe does not serve.

Endpoints, in the shapes of Stripe's API reference (https://docs.stripe.com/api):

* ``POST /v1/invoices``, ``GET /v1/invoices/{id}``, ``GET /v1/invoices``
  (``customer``, ``status``, ``limit``, ``starting_after``),
  ``GET /v1/invoices/search`` (``metadata['k']:'v'``, ``customer:'cus_'`` and
  ``status:'open'`` clauses joined by ``AND``), ``GET /v1/invoices/{id}/lines``,
  ``POST /v1/invoices/{id}/finalize``, ``/send``, ``/void``,
  ``/mark_uncollectible``, ``/pay`` (one-off invoices, ``collection_method``
  ``send_invoice``);
* ``POST /v1/invoiceitems`` with ``invoice`` (a line on a draft invoice);
* ``POST /v1/accounts``, ``GET /v1/accounts/{id}``, ``POST /v1/account_links``
  (Connect).

* ``GET /v1/customers/search`` (``metadata['k']:'v'`` clauses joined by
  ``AND``) and ``GET /v1/customers`` (``limit``, ``starting_after``) over the
  customers created through this server, per API key and ``Stripe-Account``
  (``POST /v1/customers`` is forwarded, and its answer remembered).

Everything else (customers themselves, ...) is forwarded to localstripe (``--upstream``).
Like Stripe, a POST repeated with the same ``Idempotency-Key`` (per API key and
``Stripe-Account``) returns the first response again, with
``Idempotent-Replayed: true``; the same key with other parameters is a 400.

Test-only helpers under ``/_fake/``: ``POST /_fake/accounts/{id}/complete``
(onboarding done: charges and payouts enabled), ``GET /_fake/stats``,
``POST /_fake/idempotency/expire`` (form ``api_key``: forget that key's
idempotency keys, as Stripe does after 24 hours) and ``POST /_fake/search/off``
(form ``api_key``: search answers as where Stripe does not offer it).

Run: ``python -m tests.stripe_server.fake --port N --upstream http://127.0.0.1:M``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

INVOICE_ACTIONS = ("finalize", "send", "void", "mark_uncollectible", "pay")
# The clauses of Stripe's search query language the fake understands.
_CLAUSE = re.compile(
    r"\s*(?:metadata\[['\"](?P<mkey>[^'\"]+)['\"]\]|(?P<field>customer|status))"
    r":['\"](?P<value>(?:[^'\"\\]|\\.)*)['\"]\s*"
)


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _nest(form) -> dict:
    """Stripe's form encoding (``metadata[k]=v``, ``expand[]=x``) to a dict."""
    out: dict = {}
    for key, value in form.items(multi=True):
        if "[" not in key:
            out[key] = value
            continue
        head, rest = key.split("[", 1)
        sub = rest.rstrip("]")
        if sub == "" or sub.isdigit():
            out.setdefault(head, []).append(value)
        else:
            out.setdefault(head, {})[sub] = value
    return out


def _bool(value) -> bool:
    return str(value).lower() in ("true", "1")


def _error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    kind: str = "invalid_request_error",
) -> tuple[int, dict]:
    body = {"error": {"type": kind, "message": message}}
    if code:
        body["error"]["code"] = code
    if param:
        body["error"]["param"] = param
    return status, body


class FakeStripe:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.lock = threading.RLock()
        self.invoices: dict[str, dict] = {}
        self.customers: list[dict] = []  # created through us: {"id", "metadata", "_scope"}
        self.accounts: dict[str, dict] = {}
        self.items: dict[str, dict] = {}
        self.replays: dict[tuple, tuple[str, int, bytes]] = {}
        self.numbers = itertools.count(1)
        self.no_search: set[str] = set()  # Authorization headers without search
        self.stats = {
            "invoices_created": 0,
            "items_created": 0,
            "replayed": 0,
            "forwarded": 0,
            "searched": 0,
            "listed": 0,
            "customers_searched": 0,
            "customers_listed": 0,
        }

    # ------------------------------------------------------------------ plumbing

    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key:
            scope = (
                request.headers.get("Authorization"),
                request.headers.get("Stripe-Account"),
                key,
            )
            fingerprint = hashlib.sha256(
                request.path.encode() + b"?" + request.get_data()
            ).hexdigest()
            with self.lock:
                if scope in self.replays:
                    first_fp, status, body = self.replays[scope]
                    if first_fp != fingerprint:
                        status, err = _error(
                            400,
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                            kind="idempotency_error",
                        )
                        return self._json(status, err)
                    self.stats["replayed"] += 1
                    resp = Response(body, status=status, content_type="application/json")
                    resp.headers["Idempotent-Replayed"] = "true"
                    resp.headers["Idempotency-Key"] = key
                    return resp
                response = self.dispatch(request)
                self.replays[scope] = (fingerprint, response.status_code, response.get_data())
                response.headers["Idempotency-Key"] = key
                return response
        with self.lock:
            return self.dispatch(request)

    @staticmethod
    def _json(status: int, body: dict) -> Response:
        resp = Response(json.dumps(body), status=status, content_type="application/json")
        resp.headers["Request-Id"] = _id("req")
        return resp

    def dispatch(self, request: Request) -> Response:
        self._request = request  # for the customer check; one request at a time (the lock)
        parts = [p for p in request.path.split("/") if p]
        params = _nest(request.form) if request.method == "POST" else _nest(request.args)
        base = request.host_url.rstrip("/")
        route = None
        if parts[:1] == ["_fake"]:
            route = self.fake_helpers(request.method, parts[1:], params)
        elif parts[:2] == ["v1", "invoices"]:
            route = self.invoice_routes(request.method, parts[2:], params, base)
        elif parts[:2] == ["v1", "invoiceitems"] and request.method == "POST" and len(parts) == 2:
            route = self.create_item(params, request)
        elif (
            parts[:2] == ["v1", "customers"]
            and request.method == "GET"
            and parts[2:] in ([], ["search"])
        ):
            route = self.customer_lookup(parts[2:], params)
        elif parts[:2] == ["v1", "customers"] and request.method == "POST" and len(parts) == 2:
            response = self.forward(request)
            if response.status_code == 200:
                created = json.loads(response.get_data())
                self.customers.append(
                    {
                        "id": created["id"],
                        "object": "customer",
                        "metadata": created.get("metadata") or {},
                        "_scope": self._scope(),
                    }
                )
            return response
        elif parts[:2] == ["v1", "accounts"]:
            route = self.account_routes(request.method, parts[2:], params)
        elif parts[:2] == ["v1", "account_links"] and request.method == "POST":
            route = self.account_link(params, base)
        if route is None:
            return self.forward(request)
        status, body = route
        return self._json(status, self._public(body))

    def forward(self, request: Request) -> Response:
        self.stats["forwarded"] += 1
        url = self.upstream + request.full_path.rstrip("?")
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("authorization", "content-type", "stripe-version")
        }
        data = request.get_data() if request.method in ("POST", "DELETE") else None
        req = urllib.request.Request(url, data=data, headers=headers, method=request.method)  # noqa: S310 - local test server
        try:
            with urllib.request.urlopen(req, timeout=10) as up:  # noqa: S310
                return Response(up.read(), status=up.status, content_type="application/json")
        except urllib.error.HTTPError as err:
            return Response(err.read(), status=err.code, content_type="application/json")

    def customer_exists(self, request: Request, customer_id: str) -> bool:
        url = f"{self.upstream}/v1/customers/{customer_id}"
        headers = {"Authorization": request.headers.get("Authorization", "")}
        req = urllib.request.Request(url, headers=headers)  # noqa: S310 - local test server
        try:
            with urllib.request.urlopen(req, timeout=10) as up:  # noqa: S310
                return up.status == 200
        except urllib.error.HTTPError:
            return False

    # ------------------------------------------------------------------ invoices

    def invoice_routes(self, method: str, rest: list[str], params: dict, base: str):
        if method == "POST" and not rest:
            return self.create_invoice(params, base)
        if method == "GET" and not rest:
            return self.list_invoices(params)
        if method == "GET" and rest == ["search"]:
            return self.search_invoices(params)
        invoice = self.invoices.get(rest[0]) if rest else None
        if invoice is None:
            return _error(
                404,
                f"No such invoice: '{rest[0] if rest else ''}'",
                code="resource_missing",
                param="id",
            )
        if method == "GET" and len(rest) == 1:
            return 200, invoice
        if method == "GET" and rest[1:] == ["lines"]:
            return 200, self._page(
                invoice["lines"]["data"], params, f"/v1/invoices/{invoice['id']}/lines"
            )
        if method == "POST" and len(rest) == 2 and rest[1] in INVOICE_ACTIONS:
            return getattr(self, f"_{rest[1]}")(invoice, params, base)
        if method == "POST" and len(rest) == 1:  # update a draft
            if invoice["status"] != "draft":
                return _error(
                    400, "You can only update draft invoices.", code="invoice_not_editable"
                )
            for field in ("description", "days_until_due"):
                if field in params:
                    invoice[field] = params[field]
            invoice["metadata"].update(params.get("metadata") or {})
            return 200, invoice
        return None

    def _visible(self) -> list[dict]:
        """The invoices of the calling API key and account, newest first (ids
        are random: ties on ``created`` keep the creation order, reversed)."""
        scope = self._scope()
        data = [i for i in self.invoices.values() if i["_scope"] == scope]
        return list(reversed(data))

    def _scope(self) -> tuple:
        return (
            self._request.headers.get("Authorization"),
            self._request.headers.get("Stripe-Account"),
        )

    @staticmethod
    def _public(invoice: dict) -> dict:
        return {k: v for k, v in invoice.items() if not k.startswith("_")}

    def _page(self, data: list[dict], params: dict, url: str) -> dict:
        """A list page as Stripe paginates (``limit``, ``starting_after``)."""
        try:
            limit = max(1, min(100, int(params.get("limit", 10))))
        except ValueError:
            limit = 10
        after = params.get("starting_after")
        if after:
            ids = [d["id"] for d in data]
            data = data[ids.index(after) + 1 :] if after in ids else []
        page = [self._public(d) for d in data[:limit]]
        return {"object": "list", "url": url, "has_more": len(data) > limit, "data": page}

    def list_invoices(self, params: dict):
        self.stats["listed"] += 1
        data = [
            i
            for i in self._visible()
            if not params.get("customer") or i["customer"] == params["customer"]
        ]
        if params.get("status"):
            data = [i for i in data if i["status"] == params["status"]]
        return 200, self._page(data, params, "/v1/invoices")

    def search_invoices(self, params: dict):
        """Stripe's search: ``{"object": "search_result", "next_page": ...}``."""
        return self._search(self._visible(), params, "/v1/invoices/search", "searched")

    def _search(self, objects: list[dict], params: dict, url: str, stat: str):
        if self._request.headers.get("Authorization") in self.no_search:
            return _error(
                400, "Search is not available for this account.", code="feature_not_enabled"
            )
        query = params.get("query") or ""
        clauses, pos = [], 0
        for part in re.split(r"\s+AND\s+", query.strip()):
            m = _CLAUSE.fullmatch(part)
            if m is None:
                return _error(
                    400, f"Invalid search query: '{query}' (near position {pos}).", param="query"
                )
            value = re.sub(r"\\(.)", r"\1", m["value"])
            clauses.append((m["mkey"], m["field"], value))
            pos += len(part) + 5
        self.stats[stat] += 1
        data = []
        for obj in objects:
            if all(
                (obj["metadata"].get(mkey) == value) if mkey else obj.get(field) == value
                for mkey, field, value in clauses
            ):
                data.append(obj)
        page = self._page(data, params, url)
        page.update(object="search_result", next_page=None, total_count=len(data))
        return 200, page

    # ------------------------------------------------------------------ customers

    def customer_lookup(self, rest: list[str], params: dict):
        """Search or list the customers made through this server, per API key
        and account, newest first."""
        scope = self._scope()
        mine = [c for c in reversed(self.customers) if c["_scope"] == scope]
        if rest == ["search"]:
            return self._search(mine, params, "/v1/customers/search", "customers_searched")
        self.stats["customers_listed"] += 1
        return 200, self._page(mine, params, "/v1/customers")

    def create_invoice(self, params: dict, base: str):
        customer = params.get("customer")
        if not customer:
            return _error(
                400, "Missing required param: customer.", code="parameter_missing", param="customer"
            )
        if not self.customer_exists(self._request, customer):
            return _error(
                400, f"No such customer: '{customer}'", code="resource_missing", param="customer"
            )
        method = params.get("collection_method", "charge_automatically")
        days = params.get("days_until_due")
        if method == "send_invoice" and days is None and params.get("due_date") is None:
            return _error(
                400,
                "Invoices with `collection_method=send_invoice` need a "
                "`days_until_due` or a `due_date`.",
                param="days_until_due",
            )
        now = int(time.time())
        invoice_id = _id("in")
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "amount_due": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": _bool(params.get("auto_advance", "false")),
            "collection_method": method,
            "created": now,
            "currency": params.get("currency", "usd"),
            "customer": customer,
            "days_until_due": int(days) if days is not None else None,
            "description": params.get("description"),
            "due_date": int(params["due_date"]) if params.get("due_date") else None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "lines": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "metadata": dict(params.get("metadata") or {}),
            "number": None,
            "paid": False,
            "period_end": now,
            "period_start": now,
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subtotal": 0,
            "total": 0,
            "_scope": self._scope(),
        }
        self.invoices[invoice_id] = invoice
        self.stats["invoices_created"] += 1
        return 200, self._public(invoice)

    def create_item(self, params: dict, request: Request):
        customer = params.get("customer")
        if not customer:
            return _error(
                400, "Missing required param: customer.", code="parameter_missing", param="customer"
            )
        invoice_id = params.get("invoice")
        if not invoice_id:
            return None  # a pending invoice item: localstripe's business
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            return _error(
                400, f"No such invoice: '{invoice_id}'", code="resource_missing", param="invoice"
            )
        if invoice["status"] != "draft":
            return _error(
                400,
                "You can only add invoice items to draft invoices.",
                code="invoice_not_editable",
                param="invoice",
            )
        if invoice["customer"] != customer:
            return _error(400, "The invoice belongs to another customer.", param="invoice")
        try:
            amount = int(params["amount"])
        except (KeyError, ValueError):
            return _error(
                400, "Missing required param: amount.", code="parameter_missing", param="amount"
            )
        item_id = _id("ii")
        item = {
            "id": item_id,
            "object": "invoiceitem",
            "amount": amount,
            "currency": params.get("currency", invoice["currency"]),
            "customer": customer,
            "date": int(time.time()),
            "description": params.get("description"),
            "invoice": invoice_id,
            "livemode": False,
            "metadata": dict(params.get("metadata") or {}),
            "quantity": 1,
        }
        self.items[item_id] = item
        invoice["lines"]["data"].append(
            {
                "id": _id("il"),
                "object": "line_item",
                "amount": amount,
                "currency": item["currency"],
                "description": item["description"],
                "invoice": invoice_id,
                "livemode": False,
                "metadata": item["metadata"],
                "parent": {
                    "type": "invoice_item_details",
                    "invoice_item_details": {
                        "invoice_item": item_id,
                        "proration": False,
                        "proration_details": None,
                        "subscription": None,
                    },
                    "subscription_item_details": None,
                },
                "quantity": 1,
            }
        )
        invoice["subtotal"] += amount
        invoice["total"] += amount
        invoice["amount_due"] = max(0, invoice["total"])
        invoice["amount_remaining"] = invoice["amount_due"]
        self.stats["items_created"] += 1
        return 200, item

    def _finalize(self, invoice: dict, params: dict, base: str):
        if invoice["status"] != "draft":
            return _error(
                400,
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                code="invoice_not_editable",
            )
        now = int(time.time())
        invoice["status"] = "open"
        invoice["number"] = f"FAKE-{next(self.numbers):04d}"
        invoice["hosted_invoice_url"] = f"{base}/i/{invoice['id']}"
        invoice["invoice_pdf"] = f"{base}/i/{invoice['id']}/pdf"
        invoice["status_transitions"]["finalized_at"] = now
        if invoice["collection_method"] == "send_invoice" and invoice["due_date"] is None:
            invoice["due_date"] = now + 86400 * int(invoice["days_until_due"] or 30)
        if invoice["amount_due"] == 0:
            invoice["status"] = "paid"
            invoice["paid"] = True
            invoice["status_transitions"]["paid_at"] = now
        return 200, invoice

    def _send(self, invoice: dict, params: dict, base: str):
        if invoice["status"] != "open":
            return _error(400, "You can only send open invoices.", code="invoice_not_open")
        return 200, invoice

    def _void(self, invoice: dict, params: dict, base: str):
        if invoice["status"] not in ("open", "uncollectible"):
            return _error(
                400,
                f"You can only void open or uncollectible invoices; this one is "
                f"{invoice['status']}.",
                code="invoice_not_open",
            )
        invoice["status"] = "void"
        invoice["amount_remaining"] = 0
        invoice["status_transitions"]["voided_at"] = int(time.time())
        return 200, invoice

    def _mark_uncollectible(self, invoice: dict, params: dict, base: str):
        if invoice["status"] != "open":
            return _error(
                400, "You can only mark open invoices uncollectible.", code="invoice_not_open"
            )
        invoice["status"] = "uncollectible"
        invoice["status_transitions"]["marked_uncollectible_at"] = int(time.time())
        return 200, invoice

    def _pay(self, invoice: dict, params: dict, base: str):
        if invoice["status"] not in ("open", "uncollectible"):
            return _error(400, "Invoice is already paid or void.", code="invoice_not_open")
        invoice["status"] = "paid"
        invoice["paid"] = True
        invoice["amount_paid"] = invoice["amount_due"]
        invoice["amount_remaining"] = 0
        invoice["attempted"] = True
        invoice["status_transitions"]["paid_at"] = int(time.time())
        return 200, invoice

    # ------------------------------------------------------------------ Connect

    def account_routes(self, method: str, rest: list[str], params: dict):
        if method == "POST" and not rest:
            account_id = f"acct_{secrets.token_hex(8)}"
            account = {
                "id": account_id,
                "object": "account",
                "business_type": params.get("business_type"),
                "charges_enabled": False,
                "country": params.get("country", "US"),
                "created": int(time.time()),
                "default_currency": "usd",
                "details_submitted": False,
                "email": params.get("email"),
                "metadata": dict(params.get("metadata") or {}),
                "payouts_enabled": False,
                "requirements": {
                    "currently_due": ["external_account", "tos_acceptance.date"],
                    "disabled_reason": "requirements.past_due",
                },
                "type": params.get("type", "standard"),
            }
            self.accounts[account_id] = account
            return 200, account
        account = self.accounts.get(rest[0]) if rest else None
        if account is None:
            return _error(404, "No such account", code="resource_missing", param="account")
        if method == "GET" and len(rest) == 1:
            return 200, account
        return None

    def account_link(self, params: dict, base: str):
        for field in ("account", "type"):
            if not params.get(field):
                return _error(
                    400, f"Missing required param: {field}.", code="parameter_missing", param=field
                )
        if params["account"] not in self.accounts:
            return _error(400, "No such account", code="resource_missing", param="account")
        now = int(time.time())
        return 200, {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"{base}/connect/setup/{params['account']}",
        }

    # ------------------------------------------------------------------ test helpers

    def fake_helpers(self, method: str, rest: list[str], params: dict):
        if method == "GET" and rest == ["stats"]:
            return 200, dict(self.stats, invoices=len(self.invoices))
        if method == "POST" and rest in (["idempotency", "expire"], ["search", "off"]):
            auth = f"Bearer {params.get('api_key', '')}"
            if rest[0] == "search":
                self.no_search.add(auth)
                return 200, {"search": False}
            stale = [k for k in self.replays if k[0] == auth]
            for k in stale:
                del self.replays[k]
            return 200, {"expired": len(stale)}
        if method == "POST" and len(rest) == 3 and rest[0] == "accounts" and rest[2] == "complete":
            account = self.accounts.get(rest[1])
            if account is None:
                return _error(404, "No such account", code="resource_missing")
            account.update(
                charges_enabled=True,
                payouts_enabled=True,
                details_submitted=True,
                requirements={"currently_due": [], "disabled_reason": None},
            )
            return 200, account
        return _error(404, "Unknown test helper")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    server = make_server("127.0.0.1", args.port, FakeStripe(args.upstream), threaded=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
