"""Isolation seeder for documents: one live and one soft-deleted document of
the firm, attached to a test-only owner type backed by the firm's invitation
(features' own owner types register themselves; this seeder needs none)."""

from __future__ import annotations

from io import BytesIO

from advocate.db import utcnow
from advocate.documents import services
from advocate.documents.owners import register_owner
from advocate.extensions import db
from tenants import tenant_scope
from tests.isolation import Seeded, seeder

SEED_OWNER_TYPE = "seed_invitation"


def register_seed_owner() -> None:
    from tenants.onboarding.models import Invitation

    register_owner(
        SEED_OWNER_TYPE,
        lambda pk: db.session.get(Invitation, pk),
        lambda inv: inv.practice_id,
        label="Invitation (seed)",
    )


@seeder
def _documents(s: Seeded) -> None:
    register_seed_owner()
    t = s.firm.tenant
    owner_id = s.ids["invitation_id"][0]
    with tenant_scope(t.id):
        docs = []
        for n, category in enumerate(("eob", "correspondence")):
            body = f"{s.marker} evidence {n}\n".encode()
            result = services.upload(
                tenant_id=t.id,
                actor=s.firm.owner.user,
                owner_type=SEED_OWNER_TYPE,
                owner_id=owner_id,
                category=category,
                stream=BytesIO(body),
                filename=f"{s.marker} evidence {n}.txt",
                note=f"{s.marker} note {n}",
            )
            docs.append(result.document)
        docs[1].deleted_at = utcnow()  # the restore route needs a deleted one
        db.session.flush()
        for doc in docs:
            s.add("document_id", doc.id)
        db.session.commit()
