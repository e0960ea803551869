"""``POST /api/v1/claims/x12`` (multipart field ``file``: an 837P or 837I)
imports its claims and returns the counts::

    {"claims": 12, "created": 9, "updated": 1, "unmatched": 1, "duplicate": 1,
     "file_duplicate": false}

201 when imported, 200 when the file (or its interchange) was already
imported (``file_duplicate`` true: nothing changed). A file with errors
imports nothing: 422 with one detail per problem, located and, inside a
claim, naming its patient control number::

    {"error": "...", "details": [{"transaction": "0001", "segment": 20,
      "segment_id": "CLM", "transaction_segment": 18, "element": "CLM02",
      "claim": "PCN1", "message": "total charge ... does not equal ..."}]}
"""

from __future__ import annotations

from flask import g, jsonify

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import describe
from advocate.api.schema import Out
from advocate.auth.access import WORKERS, roles
from advocate.imports import claims837, claims837_import
from advocate.imports.api import _upload
from tenants import require_tenant_id


class ClaimFileSummary(Out):
    """What importing the 837 did."""

    claims: int
    created: int
    updated: int
    unmatched: int
    duplicate: int
    file_duplicate: bool


@bp.route("/claims/x12", methods=["POST"])
@roles(WORKERS)
@describe(
    multipart={"file": "An 837P or 837I claim file."},
    responses={201: ClaimFileSummary, 200: ClaimFileSummary},
    errors=(400,),
)
def claims_x12_create():
    """Import an 837 claim file; returns the counts."""
    data, filename = _upload()
    try:
        summary = claims837_import.commit_837(
            data,
            tenant_id=require_tenant_id(),
            actor_id=g.actor.id,
            filename=filename,
            source="api",
        )
    except claims837_import.X837ImportError as err:
        api_error(422, err.message, claims837.error_details(err.errors))
    return jsonify(summary.as_json()), (200 if summary.duplicate else 201)
