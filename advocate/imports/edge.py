"""The one commit of an import, shared by the pages, the API and the CLI.

Two imports of the same file at once: the loser's insert of the file row hits
the unique (tenant, sha256) key; it rolls back and runs again, and is then a
duplicate (nothing half-written either way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from advocate.extensions import db
from advocate.imports import claims_csv, posting

T = TypeVar("T")


def _once(work: Callable[[], T]) -> T:
    for attempt in (1, 2):
        try:
            result = work()
            db.session.commit()
            return result
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def commit_835(
    data: bytes, *, tenant_id: int, actor_id: int | None, filename: str | None, source: str
) -> posting.ImportSummary:
    """Post an 835 and commit. Raises posting.EraImportError (nothing written)."""
    return _once(
        lambda: posting.import_835(
            data, tenant_id=tenant_id, actor_id=actor_id, filename=filename, source=source
        )
    )


def commit_claims(
    data: bytes,
    *,
    tenant_id: int,
    actor_id: int | None,
    filename: str | None,
    source: str,
    aliases: dict[str, str] | None = None,
) -> claims_csv.ClaimsSummary:
    """Import a claims CSV and commit. Raises claims_csv.ClaimsImportError (nothing written)."""

    def work() -> claims_csv.ClaimsSummary:
        plan = claims_csv.plan_claims(data, aliases=aliases)
        return claims_csv.import_claims(
            plan, tenant_id=tenant_id, actor_id=actor_id, filename=filename, source=source
        )

    return _once(work)
