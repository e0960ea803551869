"""Isolation seed for letters: a firm template with a version, a letter for
the seeded case (filed as its document), and a batch with one failed letter."""

from __future__ import annotations

from sqlalchemy import update

from advocate.auth.models import User
from advocate.extensions import db
from advocate.letters import services
from advocate.letters.models import FAILED, Letter
from advocate.practices.services import tenant_today
from tenants import tenant_scope
from tenants.models import Tenant
from tests.isolation import Seeded, seeder


@seeder
def _letters(s: Seeded) -> None:
    t = s.firm.tenant
    case_id = s.ids["case_id"][0]
    with tenant_scope(t.id):
        from advocate.cases.models import Case

        tenant = db.session.get(Tenant, t.id)
        actor = db.session.get(User, s.firm.owner.user.id)
        template = services.copy_template(
            tenant_id=t.id, actor=actor, name=f"{s.marker} letter", letter_type_key="records_cover"
        )
        version = services.save_version(
            template,
            actor=actor,
            subject=f"{s.marker} records",
            body=f"{s.marker} records for {{{{ case.claim_number }}}}.\n",
            note=f"{s.marker} note",
        )
        letter = services.generate_letter(
            tenant=tenant,
            actor=actor,
            case=db.session.get(Case, case_id),
            letter_type_key="records_cover",
            template_version_id=version.id,
            today=tenant_today(tenant),
        )
        batch = services.create_batch(
            tenant=tenant,
            actor=actor,
            filter_args={"q": f"{s.marker}CLM"},
            letter_type_key="records_cover",
            template_version_id=version.id,
            today=tenant_today(tenant),
        )
        db.session.execute(
            update(Letter)
            .where(Letter.batch_id == batch.id)
            .values(status=FAILED, error=f"{s.marker} failure")
        )
        db.session.flush()
        s.add("template_id", template.id)
        s.add("version_id", version.id)
        s.add("batch_id", batch.id)
        s.add("letter_id", letter.id)
        s.add(
            "letter_id",
            db.session.scalar(
                Letter.__table__.select()
                .with_only_columns(Letter.id)
                .where(Letter.batch_id == batch.id)
            ),
        )
        db.session.commit()
