"""Imports over the JSON API.

``POST /api/v1/remittances`` (multipart field ``file``: an 835) posts it and
returns the summary::

    {"transactions": 1, "claims": 12, "matched": 9, "created": 2, "unmatched": 1,
     "total_paid": "3668.03", "duplicate": false}

201 when posted, 200 when the file (or every transaction in it) was already
imported (``duplicate`` true: nothing changed). A file with errors imports
nothing: 422 with one detail per problem, located::

    {"error": "...", "details": [{"transaction": "0001", "segment": 17,
      "segment_id": "CLP", "transaction_segment": 15, "element": "CLP04",
      "message": "'abc' is not an amount"}, ...]}

``POST /api/v1/imports/claims`` (multipart field ``file``: a claims CSV; optional
field ``mapping``: a JSON object of column names in the file -> import columns,
for this request, on top of the firm's saved mapping) returns
``{"rows", "claims", "created", "existing", "duplicate"}``, or 422 with details
``{"line", "column", "message"}``.
"""

from __future__ import annotations

import json

from flask import g, jsonify, request

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import describe
from advocate.api.schema import OpenOut
from advocate.auth.access import WORKERS, roles
from advocate.csvimport import normalise_header
from advocate.imports import claims_csv, edge, posting, services
from tenants import require_tenant_id


def _upload() -> tuple[bytes, str | None]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        api_error(400, "send the file as multipart/form-data field 'file'")
    data = upload.read()
    if not data:
        api_error(422, "the file is empty", [{"field": "file", "message": "is empty"}])
    return data, upload.filename


class RemittanceSummary(OpenOut):
    """What posting the 835 did."""

    duplicate: bool


class ClaimsImportSummary(OpenOut):
    """What importing the claims CSV did."""

    duplicate: bool


@bp.route("/remittances", methods=["POST"])
@roles(WORKERS)
@describe(
    multipart={"file": "An 835 remittance file."},
    responses={201: RemittanceSummary, 200: RemittanceSummary},
    errors=(400,),
)
def remittances_create():
    """Post an 835 file; returns the import summary."""
    data, filename = _upload()
    try:
        summary = edge.commit_835(
            data,
            tenant_id=require_tenant_id(),
            actor_id=g.actor.id,
            filename=filename,
            source="api",
        )
    except posting.EraImportError as err:
        # At most MAX_ERROR_DETAILS located problems, with the total and the count of
        # each kind: a broken 50 MB file never answers megabytes of errors.
        summary_of_errors = posting.error_summary(err.errors)
        return jsonify(
            error=f"{len(err.errors)} error(s) in the file: nothing was imported",
            **summary_of_errors,
        ), 422
    return jsonify(summary.as_json()), (200 if summary.duplicate else 201)


def _mapping_field() -> dict[str, str]:
    raw = request.form.get("mapping")
    if not raw:
        return {}
    try:
        mapping = json.loads(raw)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        api_error(
            422,
            "invalid mapping",
            [
                {
                    "field": "mapping",
                    "message": 'send a JSON object: {"column in your file": "column"}',
                }
            ],
        )
    bad = [v for v in mapping.values() if v not in claims_csv.COLUMN_KEYS]
    if bad:
        api_error(
            422,
            "invalid mapping",
            [{"field": "mapping", "message": f"'{v}' is not a claims column"} for v in bad],
        )
    return {normalise_header(k): v for k, v in mapping.items()}


@bp.route("/imports/claims", methods=["POST"])
@roles(WORKERS)
@describe(
    multipart={
        "file": "A claims CSV.",
        "mapping": "JSON object: column in your file -> import column.",
    },
    responses={201: ClaimsImportSummary, 200: ClaimsImportSummary},
    errors=(400,),
)
def claims_import():
    """Import a claims CSV (every claim or none); returns the import summary."""
    data, filename = _upload()
    aliases = services.header_aliases(claims_csv.KIND)
    aliases.update(_mapping_field())
    try:
        summary = edge.commit_claims(
            data,
            tenant_id=require_tenant_id(),
            actor_id=g.actor.id,
            filename=filename,
            source="api",
            aliases=aliases,
        )
    except claims_csv.ClaimsImportError as err:
        api_error(
            422,
            f"{len(err.errors)} error(s) in the file: nothing was imported",
            claims_csv.error_details(err.errors),
        )
    return jsonify(summary.as_json()), (200 if summary.duplicate else 201)
