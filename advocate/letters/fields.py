"""The merge fields a letter template may use, documented in one list.

A template sees a flat, documented dictionary of plain values (strings, and
lists of dictionaries of strings): `firm.*`, `practice.*`, `payer.*`,
`case.*`, `patient.*`, `nsa.*`, `fee.*`, `lines` (one dictionary per service
line), `today`, `signature.*` and `claim_table` (where the claim table goes).
Money is already formatted ("$1,234.50") and dates spelled out ("March 2,
2026"), so a template never does arithmetic or formatting of its own.

Fields marked `charge` are billed charges, benchmarks (Medicare) or figures
derived from them: No Surprises Act letter types do not offer them at all, so
a template that names one is refused at save time as using an unknown field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    description: str
    example: str
    charge: bool = False  # a billed/benchmark figure: never in NSA/IDR letters


FIELDS: tuple[Field, ...] = (
    Field("firm.name", "The firm's letterhead name", "Harbor Claims Advocacy"),
    Field("firm.address", "The firm's address, one line", "12 Harbor St, Boston, MA 02110"),
    Field("firm.phone", "The firm's phone", "617-555-0100"),
    Field("firm.fax", "The firm's fax", "617-555-0101"),
    Field("practice.name", "The practice's legal name", "Lakeside Orthopedics"),
    Field("practice.npi", "The practice's NPI", "1234567893"),
    Field("practice.tin_masked", "The practice's TIN, masked", "***-**-6789"),
    Field("practice.specialty", "The practice's specialty", "Orthopedic surgery"),
    Field(
        "practice.address", "The practice's address, one line", "1 Main Street, New York, NY 10001"
    ),
    Field("practice.phone", "The practice's phone", "212-555-0199"),
    Field("practice.fax", "The practice's fax", "212-555-0198"),
    Field("payer.name", "The payer's name", "Keystone Health Plan"),
    Field(
        "payer.claims_address", "Where claims go (one line)", "PO Box 1234, Harrisburg, PA 17101"
    ),
    Field(
        "payer.appeals_address", "Where appeals go (one line)", "PO Box 99, Harrisburg, PA 17101"
    ),
    Field("payer.appeals_fax", "The payer's appeals fax", "717-555-0150"),
    Field("case.reference", "The firm's case number", "C-000123"),
    Field("case.claim_number", "The payer's claim number", "KHP-2026-000417"),
    Field("case.patient_account", "The practice's patient control number", "LO-88213"),
    Field("case.dates_of_service", "The dates of service", "March 2, 2026"),
    Field("case.place_of_service", "Place of service code", "22"),
    Field("case.plan_type", "The plan type", "ERISA self-funded"),
    Field("case.paid_total", "Total paid by the payer so far", "$2,400.00"),
    Field("case.initial_paid", "The payer's initial payment", "$2,400.00"),
    Field("case.allowed_total", "Total allowed by the payer", "$3,000.00"),
    Field("case.billed_total", "Total billed charges", "$12,000.00", charge=True),
    Field("case.amount_at_stake", "Expected payment less what was paid", "$4,100.00", charge=True),
    Field("case.expected_payment", "The firm's expected payment", "$6,500.00", charge=True),
    Field(
        "case.benchmark_total",
        "Medicare benchmark of the whole claim, or — when a line has none",
        "$3,120.44",
        charge=True,
    ),
    Field(
        "case.fee_schedule",
        "The Medicare fee schedule year used (empty without a benchmark)",
        "CY2025 rates; CY2026 not loaded",
        charge=True,
    ),
    Field("patient.first_name", "Patient first name", "Jane"),
    Field("patient.last_name", "Patient last name", "Doe"),
    Field("patient.full_name", "Patient first and last name", "Jane Doe"),
    Field("patient.dob", "Patient date of birth", "April 2, 1980"),
    Field("patient.member_id", "Member ID", "W123456789"),
    Field("nsa.qpa", "Qualifying payment amount (NSA dispute)", "$1,850.00"),
    Field("nsa.offer", "The firm's offer (NSA dispute)", "$4,200.00"),
    Field("nsa.offer_pct_of_qpa", "The offer as a percent of the QPA", "227.0%"),
    Field("nsa.notice_sent_on", "Open negotiation notice sent on", "March 20, 2026"),
    Field("nsa.idr_reference", "Federal IDR dispute number", "DISP-123456"),
    Field("fee.percent", "Fee agreement percent", "25%"),
    Field("fee.basis", "What the fee is a percent of", "recovery above the initial payment"),
    Field("fee.recovered", "Recovered above the initial payment", "$1,200.00"),
    Field("fee.total", "Total fee on the case", "$300.00"),
    Field("lines", "The service lines (loop: {% for l in lines %})", "[…]"),
    Field("lines[].line_no", "Line number", "1"),
    Field("lines[].code", "CPT/HCPCS code", "27447"),
    Field("lines[].modifiers", "Modifiers", "RT"),
    Field("lines[].units", "Units", "1"),
    Field("lines[].date", "Date of service of the line", "March 2, 2026"),
    Field("lines[].paid", "Paid on the line", "$2,400.00"),
    Field("lines[].allowed", "Allowed on the line", "$3,000.00"),
    Field("lines[].billed", "Billed on the line", "$12,000.00", charge=True),
    Field("lines[].benchmark", "Benchmark (Medicare fee × units)", "$1,410.22", charge=True),
    Field("today", "Today's date (the firm's)", "March 4, 2026"),
    Field("signature.name", "The person sending the letter", "Arlo Advocate"),
    Field("signature.email", "Their email", "arlo@harborclaims.example.com"),
    Field("claim_table", "Where the claim table goes (a line of its own)", "[claim table]"),
)

FIELD_BY_NAME = {f.name: f for f in FIELDS}
LIST_FIELDS = frozenset({"lines"})
GROUPS = frozenset(name.split(".")[0].removesuffix("[]") for name in FIELD_BY_NAME if "." in name)

# What `claim_table` renders as; the layout swaps the paragraph for the table.
CLAIM_TABLE_MARK = "[[claim table]]"


def allowed_fields(is_nsa: bool) -> frozenset[str]:
    return frozenset(f.name for f in FIELDS if not (is_nsa and f.charge))


def documented_fields(is_nsa: bool | None = None) -> list[Field]:
    """The list shown next to the template editor."""
    return [f for f in FIELDS if not (is_nsa and f.charge)]
