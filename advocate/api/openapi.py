"""The API's OpenAPI 3.1 document, generated from the code.

Each API view carries ``@describe(...)``: its request body model, query
parameters and response models (pydantic v2). The same body model validates
the request before the view runs (422 ``{"error", "details"}`` naming each
field), and the generator below walks ``app.url_map`` to write one operation
per route and method, so a route cannot be served without being described
(a test checks it). Why pydantic and a small generator rather than spectree or
flask-smorest: see docs/api.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g, jsonify, render_template, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from advocate.api.schema import MONEY_PATTERN, Error

_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_COMMON_ERRORS = {
    400: "The request cannot be read: not JSON where JSON is taken, or a NUL character in a parameter or field (named in `error`).",
    401: "No valid bearer token.",
    403: "The token's role may not do this.",
    409: "Conflicts with the record's state, or the first request with this Idempotency-Key is still running.",
    429: "Too many requests for this token; wait `Retry-After` seconds.",
}


@dataclass
class Param:
    name: str
    description: str = ""
    type: str = "string"
    required: bool = False
    format: str | None = None
    enum: list[str] | None = None


@dataclass
class Operation:
    summary: str
    description: str
    body: type[BaseModel] | None = None
    multipart: dict[str, str] | None = None  # field name -> description
    query: list[Param] = field(default_factory=list)
    responses: dict[int, type[BaseModel] | str | None] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    binary: dict[int, str] = field(default_factory=dict)  # status -> media type
    idempotent_post: bool = True


def describe(
    *,
    body: type[BaseModel] | None = None,
    multipart: dict[str, str] | None = None,
    query: list[Param] | None = None,
    responses: dict[int, type[BaseModel] | str | None] | None = None,
    errors: tuple[int, ...] = (),
    binary: dict[int, str] | None = None,
):
    """Describe an API view. ``responses`` maps each success status to its
    model (``None`` for no body); ``errors`` lists the error statuses the view
    itself answers besides the common ones (401, 403, 429, and 404/422 where
    the path has an id or the operation takes input)."""

    def decorate(view):
        doc = (view.__doc__ or "").strip()
        summary, _, rest = doc.partition("\n")
        view._api_doc = Operation(
            summary=summary.strip(),
            description=rest.strip(),
            body=body,
            multipart=multipart,
            query=list(query or []),
            responses=dict(responses or {200: None}),
            errors=tuple(errors),
            binary=dict(binary or {}),
        )
        return view

    return decorate


def doc_of(view) -> Operation | None:
    return getattr(view, "_api_doc", None)


def error_path(loc: tuple) -> str:
    """A pydantic location as the API's field path: ``lines[1].billed`` (lines count from 1)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def _message(err: dict) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == MONEY_PATTERN:
        return 'is not an amount: send a string like "120.50"'
    msg = err["msg"]
    return msg.removeprefix("Value error, ")


def validate_body(model: type[BaseModel]) -> BaseModel:
    """The request's JSON body checked against ``model``, or a 422 naming every bad field."""
    from advocate.api.auth import api_error

    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        api_error(
            422,
            "send a JSON object",
            [
                {
                    "field": "body",
                    "message": "The body must be a JSON object (Content-Type: application/json).",
                }
            ],
        )
    try:
        return model.model_validate(data)
    except ValidationError as err:
        details = []
        for e in err.errors(include_url=False, include_input=False):
            details.append({"field": error_path(e["loc"]), "message": _message(e)})
        api_error(422, "validation failed", details)
        raise AssertionError("unreachable") from None


def body() -> Any:
    """The validated body of this request (the model instance of its ``@describe(body=...)``)."""
    return g.api_body


def before_view(view) -> None:
    """Called by the API's before_request once the caller is authorised."""
    op = doc_of(view)
    if op is not None and op.body is not None and request.method in ("POST", "PUT", "PATCH"):
        g.api_body = validate_body(op.body)


# --- the document -------------------------------------------------------------


def _openapi_path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def repl(m: re.Match) -> str:
        conv, name = m.group(1) or "string", m.group(2)
        schema = {"type": "integer", "minimum": 1} if conv == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _CONVERTER.sub(repl, rule), params


def api_rules(app) -> list:
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]


def _methods(rule) -> list[str]:
    return sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS"))


def build_spec(app) -> dict:
    from advocate.auth.access import PUBLIC

    models: list[tuple[type[BaseModel], str]] = [(Error, "serialization")]
    ops: list[tuple[str, str, Any, Operation, list[dict], Any]] = []
    for rule in sorted(api_rules(app), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        op = doc_of(view)
        path, params = _openapi_path(rule.rule)
        for method in _methods(rule):
            if op is None:
                continue
            if op.body is not None:
                models.append((op.body, "validation"))
            for model in op.responses.values():
                if isinstance(model, type) and issubclass(model, BaseModel):
                    models.append((model, "serialization"))
            ops.append((path, method.lower(), rule, op, params, getattr(view, "_access", None)))
    seen = set()
    unique = []
    for m in models:
        if m not in seen:
            seen.add(m)
            unique.append(m)
    keys, top = models_json_schema(unique, ref_template="#/components/schemas/{model}")
    schemas = top.get("$defs", {})

    def ref(model, mode):
        return keys[(model, mode)]

    error_ref = ref(Error, "serialization")
    paths: dict[str, dict] = {}
    for path, method, rule, op, params, access in ops:
        entry: dict[str, Any] = {
            "operationId": rule.endpoint.removeprefix("api.")
            + ("" if len(_methods(rule)) == 1 else f"_{method}"),
            "summary": op.summary,
            "tags": [path.split("/")[3]],
        }
        if op.description:
            entry["description"] = op.description
        parameters = list(params)
        for p in op.query:
            schema: dict[str, Any] = {"type": p.type}
            if p.format:
                schema["format"] = p.format
            if p.enum:
                schema["enum"] = p.enum
            parameters.append(
                {
                    "name": p.name,
                    "in": "query",
                    "required": p.required,
                    "description": p.description,
                    "schema": schema,
                }
            )
        if method == "post" and access != PUBLIC:
            parameters.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "Retry safely: the same key and body within 24 hours returns the first answer and creates nothing; the same key with another body is a 422.",
                    "schema": {"type": "string", "maxLength": 200},
                }
            )
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(op.body, "validation")}},
            }
        elif op.multipart:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                name: (
                                    {"type": "string", "format": "binary", "description": desc}
                                    if name == "file"
                                    else {"type": "string", "description": desc}
                                )
                                for name, desc in op.multipart.items()
                            },
                            "required": ["file"] if "file" in op.multipart else [],
                        }
                    }
                },
            }
        responses: dict[str, Any] = {}
        for status, model in sorted(op.responses.items()):
            if status in op.binary:
                responses[str(status)] = {
                    "description": "The file.",
                    "content": {
                        op.binary[status]: {"schema": {"type": "string", "format": "binary"}}
                    },
                }
            elif model is None:
                responses[str(status)] = {
                    "description": "No body." if status == 204 else "Success."
                }
            elif isinstance(model, str):
                responses[str(status)] = {"description": model}
            else:
                responses[str(status)] = {
                    "description": (model.__doc__ or model.__name__).strip().splitlines()[0],
                    "content": {"application/json": {"schema": ref(model, "serialization")}},
                }
        errors = set(op.errors) | {
            400
        }  # any request may carry unreadable input (advocate.input_guard)
        if access != PUBLIC:
            errors |= {401, 403, 429}
        if params:
            errors.add(404)
        if op.body is not None or op.query or op.multipart:
            errors.add(422)
        if op.body is not None:
            errors.add(400)
        if method == "post" and access != PUBLIC:
            errors |= {409, 422}  # Idempotency-Key: still running / used with another body
        for status in sorted(errors):
            responses[str(status)] = {
                "description": _COMMON_ERRORS.get(status, "An error; `details` names the fields."),
                "content": {"application/json": {"schema": error_ref}},
            }
        entry["responses"] = responses
        if access == PUBLIC:
            entry["security"] = []
        paths.setdefault(path, {})[method] = entry
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Advocate API",
            "version": "1",
            "description": (
                "The JSON API of Advocate. Authenticate with `Authorization: Bearer <token>` "
                '(tokens are created under API tokens). Errors are `{"error": ..., "details": '
                '[{"field": ..., "message": ...}]}`. Money is a string with two decimals; '
                "dates are `YYYY-MM-DD`; timestamps are ISO 8601 in UTC. Lists with a `next` "
                "link are cursor-paginated: follow `next` until it is null."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": paths,
    }


def spec(app=None) -> dict:
    app = app or current_app
    cached = app.extensions.get("advocate_openapi")
    if cached is None:
        cached = build_spec(app)
        app.extensions["advocate_openapi"] = cached
    return cached


# --- checking responses against the document (tests turn this on) -------------


def response_schema(app, endpoint: str, method: str, status: int) -> dict | None | bool:
    """The JSON schema of a response, None when it has no JSON body, False when undescribed."""
    rule = next((r for r in api_rules(app) if r.endpoint == endpoint), None)
    if rule is None:
        return False
    path, _ = _openapi_path(rule.rule)
    entry = spec(app)["paths"].get(path, {}).get(method.lower())
    if entry is None:
        return False
    resp = entry["responses"].get(str(status))
    if resp is None:
        return False
    content = resp.get("content", {}).get("application/json")
    return None if content is None else content["schema"]


def check_response(response) -> None:
    """Raise AssertionError when a JSON response does not match its described schema."""
    import jsonschema

    app = current_app
    if request.endpoint is None or not request.path.startswith("/api/v1/"):
        return
    schema = response_schema(app, request.endpoint, request.method, response.status_code)
    if schema is False:
        raise AssertionError(
            f"{request.method} {request.path} answered {response.status_code}, which its @describe does not list"
        )
    if schema is None:
        return
    if response.mimetype != "application/json":
        raise AssertionError(
            f"{request.method} {request.path}: expected JSON, got {response.mimetype}"
        )
    instance = json.loads(response.get_data())
    root = dict(schema)
    root["components"] = spec(app)["components"]
    validator = jsonschema.Draft202012Validator(root)
    problems = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if problems:
        lines = [
            f"{'/'.join(map(str, p.absolute_path)) or '(root)'}: {p.message}" for p in problems[:10]
        ]
        raise AssertionError(
            f"{request.method} {request.path} {response.status_code} does not match its schema:\n"
            + "\n".join(lines)
        )


def openapi_json():
    """This API's OpenAPI 3.1 description."""
    return jsonify(spec())


def reference_page():
    """A readable reference of the API, rendered on the server from the OpenAPI document."""
    document = spec()
    return render_template(
        "api/reference.html",
        spec=document,
        schemas=document["components"]["schemas"],
        pretty=lambda v: json.dumps(v, indent=2, sort_keys=False),
    )
