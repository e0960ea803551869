"""Two demo payers with realistic (but invented) directory entries and OON
policies, for `flask demo seed`. Idempotent: a payer that exists is left alone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from advocate.audit.services import audit
from advocate.extensions import db
from advocate.payers.models import Payer, PayerAppealLevel, PayerContact, PayerPolicy
from advocate.payers.validation import name_key

DEMO_PAYERS = [
    {
        "payer": {
            "name": "Northstar Health Plan",
            "edi_payer_id": "NSH01",
            "plan_types": ["erisa_self_funded", "fully_insured", "medicare_advantage"],
            "provider_phone": "(800) 555-0142",
            "portal_url": "https://provider.northstar-health.example",
            "claims_address": "Northstar Health Plan Claims\nPO Box 30555\nSalt Lake City, UT 84130",
            "claims_fax": "(800) 555-0143",
            "appeals_address": "Northstar Appeals and Grievances\nPO Box 30432\nSalt Lake City, UT 84130",
            "appeals_fax": "(800) 555-0144",
            "appeals_phone": "(800) 555-0145",
            "notes": "Self-funded groups are administered under the Northstar name; check the ID card for the plan sponsor.",
        },
        "contacts": [
            {
                "name": "Dana Whitfield",
                "role": "Provider relations representative",
                "direct_line": "(800) 555-0146 ext. 2210",
                "email": "dwhitfield@northstar-health.example",
            },
            {"name": "Marcus Lee", "role": "Appeals supervisor", "direct_line": "(800) 555-0147"},
        ],
        "policies": [
            {
                "plan_type": "erisa_self_funded",
                "effective_date": date(2024, 1, 1),
                "pricing_method": "medicare_percent",
                "pricing_percent": Decimal("140.00"),
                "timely_filing_days": 90,
                "is_sca_available": True,
                "sca_how_to_request": "Fax the SCA request form with clinicals to utilization management before the service.",
                "nsa_notes": "Emergency and facility-based claims are priced at the QPA; remark code N830 on the ERA.",
                "limitations": "Multiple-procedure reductions at 50% for the second and later procedures.",
                "source_document": "Out-of-network reimbursement policy 2024-R1",
                "source_url": "https://provider.northstar-health.example/policies/oon-2024",
                "levels": [
                    ("Level 1 appeal", 180),
                    ("Level 2 appeal", 60),
                    ("External review", 120),
                ],
            },
            {
                "plan_type": "erisa_self_funded",
                "effective_date": date(2025, 7, 1),
                "pricing_method": "medicare_percent",
                "pricing_percent": Decimal("125.00"),
                "timely_filing_days": 90,
                "is_sca_available": True,
                "sca_how_to_request": "Request through the provider portal (Authorizations > Single case agreement).",
                "nsa_notes": "Emergency and facility-based claims are priced at the QPA; remark code N830 on the ERA.",
                "limitations": "Multiple-procedure reductions at 50% for the second and later procedures. "
                "Assistant-at-surgery claims priced at 16% of the primary surgeon's allowance.",
                "source_rep_name": "Dana Whitfield",
                "source_rep_date": date(2025, 6, 12),
                "source_reference": "CALL-2025-061288",
                "levels": [
                    ("Level 1 appeal", 180),
                    ("Level 2 appeal", 60),
                    ("External review", 120),
                ],
            },
            {
                "plan_type": "medicare_advantage",
                "effective_date": date(2025, 1, 1),
                "pricing_method": "medicare_percent",
                "pricing_percent": Decimal("100.00"),
                "timely_filing_days": 365,
                "is_sca_available": False,
                "limitations": "Non-contracted providers are paid what original Medicare would pay.",
                "source_document": "Medicare Advantage provider manual, chapter 9",
                "levels": [("Reconsideration", 60)],
            },
        ],
    },
    {
        "payer": {
            "name": "Bluewater Benefit Administrators",
            "edi_payer_id": "BWB22",
            "plan_types": ["erisa_self_funded"],
            "provider_phone": "(888) 555-0190",
            "portal_url": "https://portal.bluewater-tpa.example",
            "claims_address": "Bluewater Benefit Administrators\nPO Box 4410\nCharlotte, NC 28230",
            "claims_fax": "(888) 555-0191",
            "appeals_address": "Bluewater Appeals Unit\nPO Box 4488\nCharlotte, NC 28230",
            "appeals_fax": "(888) 555-0192",
            "notes": "Third-party administrator for self-funded employer plans; the plan document controls.",
        },
        "contacts": [
            {
                "name": "Priya Nair",
                "role": "Claims escalation specialist",
                "direct_line": "(888) 555-0193",
            },
        ],
        "policies": [
            {
                "plan_type": "erisa_self_funded",
                "effective_date": date(2025, 1, 1),
                "pricing_method": "commercial_percentile",
                "pricing_percent": Decimal("80.00"),
                "commercial_percentile": 80,
                "benchmark_name": "FAIR Health",
                "timely_filing_days": 180,
                "is_sca_available": None,
                "nsa_notes": "Open negotiation notices go to the appeals fax with the NSA cover sheet.",
                "limitations": "Reference-based pricing for facility claims on some groups; check the plan document.",
                "source_rep_name": "Priya Nair",
                "source_rep_date": date(2025, 2, 3),
                "source_reference": "BW-88213",
                "levels": [("Level 1 appeal", 180), ("External review", 120)],
            },
        ],
    },
]


def seed_payers(tenant_id: int) -> list[str]:
    """Add the demo payers to a firm (tenant in scope); flushes."""
    lines = []
    for spec in DEMO_PAYERS:
        data = spec["payer"]
        existing = db.session.scalar(select(Payer).where(Payer.name_key == name_key(data["name"])))
        if existing is not None:
            continue
        payer = Payer(tenant_id=tenant_id, name_key=name_key(data["name"]), **data)
        db.session.add(payer)
        for c in spec["contacts"]:
            payer.contacts.append(PayerContact(tenant_id=tenant_id, **c))
        for p in spec["policies"]:
            p = dict(p)
            levels = p.pop("levels")
            policy = PayerPolicy(tenant_id=tenant_id, **p)
            for i, (name, days) in enumerate(levels, start=1):
                submit = (
                    {}
                    if name == "External review"
                    else {
                        "submit_to_address": data.get("appeals_address"),
                        "submit_to_fax": data.get("appeals_fax"),
                    }
                )
                policy.appeal_levels.append(
                    PayerAppealLevel(
                        tenant_id=tenant_id, level=i, name=name, window_days=days, **submit
                    )
                )
            payer.policies.append(policy)
        db.session.flush()
        audit(
            "payer.created", payer, tenant_id=tenant_id, details={"name": payer.name, "via": "demo"}
        )
        for policy in payer.policies:
            audit(
                "payer_policy.created",
                policy,
                tenant_id=tenant_id,
                details={
                    "payer_id": payer.id,
                    "plan_type": policy.plan_type,
                    "effective_date": policy.effective_date.isoformat(),
                    "pricing": policy.pricing_summary,
                    "timely_filing_days": policy.timely_filing_days,
                    "via": "demo",
                },
            )
        lines.append(f"  payer     {data['name']}")
    db.session.flush()
    return lines
