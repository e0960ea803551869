"""Import of a payer list from CSV: preview first, then all rows or none.

A payer already in the directory (same name, ignoring case and spacing) is
UPDATED, not refused: firms keep their payer list in a spreadsheet and
re-import it. Only cells that have a value change the payer; an empty cell
leaves what the directory has, so a partial file never wipes data. A contact
in the row is matched by name on that payer and updated, or added.
A name given twice in one file is an error (which row should win?).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from advocate.audit.services import audit
from advocate.csvimport import Column, CsvSchema, ParsedRow, Preview, RowError
from advocate.extensions import db
from advocate.payers import services
from advocate.payers.models import Payer, PayerContact
from advocate.payers.validation import (
    name_key,
    parse_email,
    parse_phone,
    parse_plan_types,
    parse_text,
    parse_url,
)

KIND = "payers"
MAX_BYTES = 2 * 1024 * 1024
PREVIEW_ROWS = 20


def _text(max_length: int):
    return lambda v: parse_text(v, max_length=max_length, label="The value")


def _plan_types(value: str) -> list[str]:
    return parse_plan_types(value)


# The CSV columns, in template order. `help` is shown on the import page.
COLUMNS = [
    Column(
        "name",
        required=True,
        aliases=("payer", "payer name"),
        parse=_text(200),
        help="The payer's name; matches an existing payer ignoring case.",
        example="Northstar Health Plan",
    ),
    Column(
        "payer_id",
        aliases=("edi payer id", "electronic payer id", "payer code"),
        parse=services.parse_payer_code,
        help="Electronic (EDI) payer ID.",
        example="87726",
    ),
    Column(
        "plan_types",
        aliases=("plan types served", "plans", "plan type"),
        parse=_plan_types,
        help="Separated by ';': erisa_self_funded, fully_insured, medicare_advantage, "
        "medicaid_managed_care, other (or their names, e.g. 'ERISA self-funded', 'MA').",
        example="erisa_self_funded; fully_insured",
    ),
    Column(
        "provider_phone",
        aliases=("phone", "provider services phone"),
        parse=parse_phone,
        help="US number; 'ext. 12' for an extension.",
        example="(800) 555-0142",
    ),
    Column(
        "portal_url",
        aliases=("portal", "website"),
        parse=parse_url,
        help="Provider portal; https:// is added to a bare host name.",
        example="https://provider.example.com",
    ),
    Column(
        "claims_address",
        aliases=("claims mailing address",),
        parse=_text(1000),
        help="Quote it to keep line breaks.",
        example="PO Box 30555, Salt Lake City, UT 84130",
    ),
    Column("claims_fax", parse=parse_phone, example="(800) 555-0143"),
    Column(
        "appeals_address",
        aliases=("appeals mailing address",),
        parse=_text(1000),
        example="PO Box 30432, Salt Lake City, UT 84130",
    ),
    Column("appeals_fax", parse=parse_phone, example="(800) 555-0144"),
    Column("appeals_phone", parse=parse_phone, example="(800) 555-0145"),
    Column("notes", parse=_text(5000)),
    Column(
        "contact_name",
        aliases=("contact",),
        parse=_text(200),
        help="One contact per row (optional).",
    ),
    Column("contact_role", parse=_text(120), example="Provider relations representative"),
    Column("contact_direct_line", aliases=("contact phone",), parse=parse_phone),
    Column("contact_email", parse=parse_email),
]

_PAYER_KEYS = {
    "name": "name",
    "payer_id": "edi_payer_id",
    "plan_types": "plan_types",
    "provider_phone": "provider_phone",
    "portal_url": "portal_url",
    "claims_address": "claims_address",
    "claims_fax": "claims_fax",
    "appeals_address": "appeals_address",
    "appeals_fax": "appeals_fax",
    "appeals_phone": "appeals_phone",
    "notes": "notes",
}
_CONTACT_KEYS = {
    "contact_role": "role",
    "contact_direct_line": "direct_line",
    "contact_email": "email",
}


def _row_checks(values: dict):
    if values.get("contact_name") is None and any(values.get(k) for k in _CONTACT_KEYS):
        yield "contact_name", "is required when the row has other contact columns."


def _one_row_per_payer(rows: list[ParsedRow]):
    first_line: dict[str, int] = {}
    for row in rows:
        key = name_key(row.values["name"])
        if key in first_line:
            yield RowError(
                row.line,
                "name",
                f"'{row.values['name']}' is also on line {first_line[key]}; "
                "give each payer once per file.",
            )
        else:
            first_line[key] = row.line


PAYER_CSV = CsvSchema(COLUMNS, row_validator=_row_checks, file_validator=_one_row_per_payer)


def parse(data: bytes) -> Preview:
    if len(data) > MAX_BYTES:
        preview = Preview()
        preview.file_errors.append(
            RowError(
                1,
                None,
                f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; "
                "split it into smaller files.",
            )
        )
        return preview
    return PAYER_CSV.parse(data)


def existing_payers(preview: Preview) -> dict[str, Payer]:
    """The firm's payers the file names, by name key (one query)."""
    keys = sorted({name_key(r.values["name"]) for r in preview.rows if r.values.get("name")})
    found: dict[str, Payer] = {}
    for i in range(0, len(keys), 500):
        for p in db.session.scalars(select(Payer).where(Payer.name_key.in_(keys[i : i + 500]))):
            found[p.name_key] = p
    return found


def plan(preview: Preview) -> dict[int, str]:
    """Line -> 'create' or 'update', for the preview page."""
    existing = existing_payers(preview)
    return {
        r.line: ("update" if name_key(r.values["name"]) in existing else "create")
        for r in preview.rows
        if r.values.get("name")
    }


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    contacts_added: int = 0
    contacts_updated: int = 0
    payer_ids: list[int] = field(default_factory=list)


class ImportRefused(ValueError):
    def __init__(self, preview: Preview):
        super().__init__(f"{len(preview.errors)} error(s): nothing imported")
        self.preview = preview


def import_payers(preview: Preview, *, tenant_id: int, actor_id: int | None) -> ImportResult:
    """Write every row, or nothing: refuses a preview with any error. Flushes;
    the caller commits once (or rolls back)."""
    if not preview.ok:
        raise ImportRefused(preview)
    existing = existing_payers(preview)
    contacts_by_payer: dict[int, dict[str, PayerContact]] = {}
    ids_with_contacts = [p.id for p in existing.values()]
    for i in range(0, len(ids_with_contacts), 500):
        for c in db.session.scalars(
            select(PayerContact).where(PayerContact.payer_id.in_(ids_with_contacts[i : i + 500]))
        ):
            contacts_by_payer.setdefault(c.payer_id, {})[name_key(c.name)] = c
    result = ImportResult()
    for row in preview.rows:
        v = row.values
        fields = {attr: v[col] for col, attr in _PAYER_KEYS.items() if v.get(col) not in (None, [])}
        payer = existing.get(name_key(v["name"]))
        if payer is None:
            fields.setdefault("plan_types", [])
            payer = Payer(tenant_id=tenant_id, name_key=name_key(v["name"]), **fields)
            db.session.add(payer)
            db.session.flush()
            audit(
                "payer.created",
                payer,
                tenant_id=tenant_id,
                user_id=actor_id,
                details={"name": payer.name, "via": "csv", "line": row.line},
            )
            result.created += 1
        else:
            fields.pop("name")  # the directory keeps its own spelling of the name
            changes = services.diff_fields(
                payer, fields, long_fields=("notes", "claims_address", "appeals_address")
            )
            for attr, value in fields.items():
                setattr(payer, attr, value)
            if changes:
                audit(
                    "payer.updated",
                    payer,
                    tenant_id=tenant_id,
                    user_id=actor_id,
                    details={"changes": changes, "via": "csv", "line": row.line},
                )
                result.updated += 1
            else:
                result.unchanged += 1
        result.payer_ids.append(payer.id)
        if v.get("contact_name"):
            cfields = {
                attr: v[col] for col, attr in _CONTACT_KEYS.items() if v.get(col) is not None
            }
            contact = contacts_by_payer.get(payer.id, {}).get(name_key(v["contact_name"]))
            if contact is None:
                contact = PayerContact(
                    tenant_id=tenant_id, payer=payer, name=v["contact_name"], **cfields
                )
                db.session.add(contact)
                db.session.flush()
                contacts_by_payer.setdefault(payer.id, {})[name_key(contact.name)] = contact
                audit(
                    "payer_contact.created",
                    contact,
                    tenant_id=tenant_id,
                    user_id=actor_id,
                    details={"payer_id": payer.id, "via": "csv", "line": row.line},
                )
                result.contacts_added += 1
            else:
                changes = services.diff_fields(contact, cfields)
                for attr, value in cfields.items():
                    setattr(contact, attr, value)
                if changes:
                    audit(
                        "payer_contact.updated",
                        contact,
                        tenant_id=tenant_id,
                        user_id=actor_id,
                        details={
                            "payer_id": payer.id,
                            "changes": changes,
                            "via": "csv",
                            "line": row.line,
                        },
                    )
                    result.contacts_updated += 1
    db.session.flush()
    audit(
        "payers.imported",
        object_type="payers",
        tenant_id=tenant_id,
        user_id=actor_id,
        details={
            "sha256": preview.sha256,
            "rows": preview.total_rows,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "contacts_added": result.contacts_added,
            "contacts_updated": result.contacts_updated,
        },
    )
    return result
