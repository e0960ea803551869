"""The demo firm `make run` serves. Idempotent: running it twice changes nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from advocate.auth.models import User
from advocate.auth.passwords import hash_password
from advocate.db import utcnow
from advocate.extensions import db
from tenants import set_db_user, tenant_scope
from tenants.models import Membership, Tenant
from tenants.scoping import lookup_email, lookup_tenant_slug

DEMO_SLUG = "demo"
PEOPLE = [
    ("owner@demo.advocate.test", "Olivia Owner", "owner"),
    ("admin@demo.advocate.test", "Adam Admin", "admin"),
    ("advocate@demo.advocate.test", "Ava Advocate", "advocate"),
    ("viewer@demo.advocate.test", "Victor Viewer", "viewer"),
]


def seed(password: str) -> list[str]:
    with lookup_tenant_slug(DEMO_SLUG):  # RLS on tenants: this one firm
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == DEMO_SLUG))
    if tenant is None:
        tenant = Tenant(
            name="Fairpay Advocacy Partners",
            slug=DEMO_SLUG,
            letterhead_name="Fairpay Advocacy Partners",
            address_line1="200 Park Avenue, Suite 1700",
            city="New York",
            state="NY",
            zip="10166",
            phone="(212) 555-0100",
        )
        db.session.add(tenant)
        with lookup_tenant_slug(DEMO_SLUG):
            db.session.flush()
    lines = [
        f"Demo firm: {tenant.name} (slug '{tenant.slug}')",
        "Demo logins (two-factor enrollment on first log-in):",
    ]
    with tenant_scope(tenant.id):
        for email, name, role in PEOPLE:
            user = _demo_account(email, name, password)
            m = db.session.scalar(
                select(Membership).where(
                    Membership.tenant_id == tenant.id, Membership.user_id == user.id
                )
            )
            if m is None:
                db.session.add(Membership(tenant_id=tenant.id, user_id=user.id, role=role))
            lines.append(f"  {role:<9} {email}  /  {password}")
        db.session.commit()
    # The import's audit row needs a firm (RLS admits no firm-less "rates."
    # events from the app role): it is recorded as the demo firm's.
    with tenant_scope(tenant.id):
        lines.append(seed_medicare_rates())
    lines.extend(seed_practices(tenant, password))
    lines.extend(seed_payers(tenant))
    lines.extend(seed_cases(tenant))
    return lines


def seed_medicare_rates(year: int = 2025) -> str:
    """Load the vendored CMS fee schedule for `year` unless it is already loaded."""
    from advocate.rates.importer import load_bundled_year

    result = load_bundled_year(db.session, year)
    db.session.commit()
    if result is None:
        return f"Medicare fee schedule {year}: already loaded"
    counts = result.counts
    return f"Medicare fee schedule {year}: loaded {counts['rvu']:,} codes, {counts['zip5']:,} ZIP codes"


# --------------------------------------------------------------------------- practices

DEMO_PRACTICE_ADMIN = ("practice@demo.advocate.test", "Priya Patel")


def seed_practices(tenant: Tenant, password: str) -> list[str]:
    """Two client practices with fee agreements and authorizations, two
    associations, and a practice-admin login for the first practice."""
    from datetime import date, timedelta
    from decimal import Decimal

    from advocate.associations.models import Association
    from advocate.db import utcnow
    from advocate.practices.models import (
        FeeAgreement,
        Practice,
        PracticeAuthorization,
        PracticeContact,
    )

    today = utcnow().date()
    practices = [
        {
            "name": "Hudson Valley Orthopedic Associates, PLLC",
            "npi": "1548729361",
            "tin": "141234567",
            "specialty": "Orthopedic surgery",
            "address_line1": "25 Reade Place",
            "address_line2": "Suite 200",
            "city": "Poughkeepsie",
            "state": "NY",
            "zip": "12601",
            "default_pos": "11",
            "phone": "(845) 555-0142",
            "fax": "(845) 555-0143",
            "agreements": [
                (
                    date(2024, 1, 1),
                    Decimal("25.00"),
                    "incremental",
                    Decimal("250.00"),
                    Decimal("25000.00"),
                    "firm",
                    "per_settlement",
                ),
                (
                    date(2025, 7, 1),
                    Decimal("22.50"),
                    "incremental",
                    Decimal("250.00"),
                    Decimal("30000.00"),
                    "firm",
                    "per_settlement",
                ),
            ],
            # Signed months ago, valid for another five months.
            "authorization": (
                today - timedelta(days=200),
                today + timedelta(days=165),
                "all",
                None,
            ),
            "contact": (
                "Dana Whitfield",
                "Billing manager",
                "billing@hvortho.example.com",
                "(845) 555-0144",
            ),
        },
        {
            "name": "Riverside Anesthesia Partners, P.C.",
            "npi": "1682304757",
            "tin": "221987654",
            "specialty": "Anesthesiology",
            "address_line1": "400 Market Street",
            "address_line2": None,
            "city": "Newark",
            "state": "NJ",
            "zip": "07105",
            "default_pos": "22",
            "phone": "(973) 555-0190",
            "fax": None,
            "agreements": [
                (date(2025, 1, 1), Decimal("30.00"), "gross", None, None, "split", "monthly"),
            ],
            # Lapsed: the practice page shows the warning banner.
            "authorization": (
                today - timedelta(days=500),
                today - timedelta(days=135),
                "listed",
                ["Aetna", "UnitedHealthcare"],
            ),
            "contact": (
                "Marcus Lee",
                "Practice administrator",
                "mlee@riversideanes.example.com",
                None,
            ),
        },
    ]
    associations = [
        (
            "American Academy of Orthopaedic Surgeons",
            "Orthopedic surgery",
            "https://www.aaos.org",
            "Coding, coverage and reimbursement guidance; position statements on surprise billing.",
        ),
        (
            "American Society of Anesthesiologists",
            "Anesthesiology",
            "https://www.asahq.org",
            "Anesthesia payment advocacy; statements on No Surprises Act implementation.",
        ),
    ]
    lines = ["Demo practices:"]
    with tenant_scope(tenant.id):
        first = None
        for spec in practices:
            practice = db.session.scalar(select(Practice).where(Practice.npi == spec["npi"]))
            if practice is None:
                fields = {
                    k: v
                    for k, v in spec.items()
                    if k not in ("agreements", "authorization", "contact")
                }
                practice = Practice(tenant_id=tenant.id, status="active", **fields)
                db.session.add(practice)
                db.session.flush()
                name, title, email, phone = spec["contact"]
                db.session.add(
                    PracticeContact(
                        practice_id=practice.id,
                        name=name,
                        title=title,
                        email=email,
                        phone=phone,
                        is_primary=True,
                    )
                )
                signed, expires, scope, payer_names = spec["authorization"]
                db.session.add(
                    PracticeAuthorization(
                        practice_id=practice.id,
                        signed_on=signed,
                        expires_on=expires,
                        scope=scope,
                        payer_names=payer_names,
                    )
                )
            existing = set(
                db.session.scalars(
                    select(FeeAgreement.effective_date).where(
                        FeeAgreement.practice_id == practice.id
                    )
                )
            )
            for eff, pct, basis, minimum, cap, bearer, cadence in spec["agreements"]:
                if eff not in existing:
                    db.session.add(
                        FeeAgreement(
                            practice_id=practice.id,
                            effective_date=eff,
                            percent=pct,
                            basis=basis,
                            minimum=minimum,
                            cap=cap,
                            idr_fee_bearer=bearer,
                            billing_cadence=cadence,
                        )
                    )
            first = first or practice
            lines.append(f"  {practice.name} (NPI {practice.npi})")
        for name, specialty, url, notes in associations:
            if db.session.scalar(select(Association).where(Association.name == name)) is None:
                db.session.add(Association(name=name, specialty=specialty, url=url, notes=notes))
        email, person = DEMO_PRACTICE_ADMIN
        user = _demo_account(email, person, password)
        m = db.session.scalar(
            select(Membership).where(
                Membership.tenant_id == tenant.id, Membership.user_id == user.id
            )
        )
        if m is None:
            db.session.add(
                Membership(
                    tenant_id=tenant.id,
                    user_id=user.id,
                    role="practice_admin",
                    practice_id=first.id,
                )
            )
        lines.append(f"  practice admin of {first.name}: {email}  /  {password}")
        db.session.commit()
    return lines


def seed_payers(tenant: Tenant) -> list[str]:
    """Two payers with their contacts and OON policy versions (idempotent)."""
    from advocate.payers.demo import seed_payers as add_demo_payers

    with tenant_scope(tenant.id):
        added = add_demo_payers(tenant.id)
        db.session.commit()
    return ["Demo payers:", *added] if added else ["Demo payers: already there"]


DEMO_PATIENTS = [
    ("Maria", "Alvarez"),
    ("James", "O'Connor"),
    ("Zoë", "Lindqvist"),
    ("Wei", "Zhang"),
    ("Aaliyah", "Brooks"),
    ("Dmitri", "Ivanov"),
    ("Priya", "Raman"),
    ("Samuel", "Okafor"),
    ("Hannah", "Schmidt"),
    ("Luis", "Fernández"),
    ("Grace", "Kim"),
    ("Noah", "Bennett"),
]
DEMO_LINES = [
    ("27447", [], "48500.00", "9800.00"),  # knee arthroplasty
    ("29881", [], "12400.00", "2100.00"),
    ("99285", [], "2350.00", "410.00"),
    ("20610", ["RT"], "650.00", "95.00"),
    ("64483", [], "3900.00", "620.00"),
    ("99213", [], "310.00", "71.00"),
]
DEMO_PATHS = [
    [],
    ["gathering_evidence"],
    ["gathering_evidence", "ready_to_negotiate"],
    ["ready_to_negotiate", "negotiating"],
    ["ready_to_negotiate", "negotiating"],
    ["ready_to_negotiate", ("appeal", 1)],
    ["ready_to_negotiate", "negotiating", ("settled", "5200.00")],
    [],
    ["gathering_evidence"],
    ["ready_to_negotiate", "negotiating"],
    [],
    ["gathering_evidence"],
]


def seed_cases(tenant: Tenant) -> list[str]:
    """A dozen open cases across the demo practices and payers (idempotent)."""
    from datetime import timedelta
    from decimal import Decimal

    from advocate.cases import services as case_services
    from advocate.cases.models import Case
    from advocate.payers.models import Payer
    from advocate.practices.models import Practice

    with tenant_scope(tenant.id):
        if db.session.scalar(select(Case.id).limit(1)) is not None:
            return ["Demo cases: already seeded"]
        practices = db.session.scalars(select(Practice).order_by(Practice.id)).all()
        payers = db.session.scalars(select(Payer).order_by(Payer.id)).all()
        advocate = db.session.scalar(
            select(User).where(User.email == "advocate@demo.advocate.test")
        )
        if not practices or not payers:
            return ["Demo cases: skipped (no practices or payers)"]
        cases: list = []
        from advocate.practices.services import tenant_today

        today = tenant_today(tenant)  # the firm's day: the demo is about today's work
        for i, (first, last) in enumerate(DEMO_PATIENTS):
            code, mods, billed, paid = DEMO_LINES[i % len(DEMO_LINES)]
            path = DEMO_PATHS[i % len(DEMO_PATHS)]
            # An appeal case was denied months ago: its appeal window is nearly over.
            served = today - timedelta(days=200 if ("appeal", 1) in path else 20 + 9 * i)
            pos = "22" if i % 2 else "11"
            practice = practices[i % len(practices)]
            # What payers really pay out of network: about 55-80% of Medicare, so the
            # payer's own policy (125-140% of Medicare) leaves a real underpayment.
            fee = _medicare_fee(code, mods, pos, practice.zip, served)
            if fee is not None:
                paid = str(
                    (fee * DEMO_PAID_SHARE[i % len(DEMO_PAID_SHARE)]).quantize(Decimal("0.01"))
                )
            billed_d, paid_d = Decimal(billed), Decimal(paid)
            presp = (paid_d * Decimal("0.25")).quantize(Decimal("0.01"))
            data = {
                "practice_id": practice.id,
                "payer_id": payers[i % len(payers)].id,
                "plan_type": "erisa_self_funded" if i % 3 else "fully_insured",
                "patient_first_name": first,
                "patient_last_name": last,
                "patient_dob": f"{1950 + 3 * i}-0{1 + i % 9}-1{i % 9}",
                "member_id": f"DEMO{100200 + i}",
                "payer_claim_number": f"NS{2026000 + i}",
                "patient_control_number": f"HV-{5000 + i}",
                "service_from": served.isoformat(),
                "service_to": served.isoformat(),
                "place_of_service": pos,
                "service_type": "emergency" if code == "99285" else "other",
                "initial_payment_received_on": (served + timedelta(days=14)).isoformat(),
                "assignee_id": advocate.id if advocate and i % 2 == 0 else None,
                "lines": [
                    {
                        "code": code,
                        "modifiers": mods,
                        "units": 1,
                        "billed": billed,
                        "allowed": str(paid_d + presp),
                        "paid": paid,
                        "patient_resp": str(presp),
                        "adjustments": [
                            {
                                "group": "CO",
                                "reason": "45",
                                "amount": str(billed_d - paid_d - presp),
                            },
                            {"group": "PR", "reason": "2", "amount": str(presp)},
                        ],
                    }
                ],
            }
            case = case_services.create_case(tenant_id=tenant.id, actor_id=None, data=data)
            for step in path:
                if isinstance(step, tuple) and step[0] == "appeal":
                    case_services.transition(case, "appeal", actor_id=None, appeal_level=step[1])
                elif isinstance(step, tuple):
                    case_services.transition(
                        case, step[0], actor_id=None, agreed_amount=Decimal(step[1])
                    )
                else:
                    case_services.transition(case, step, actor_id=None)
            cases.append(case)
        work = _seed_work_due(cases, advocate, today)
        won = _seed_won_cases(tenant, practices, payers, advocate, today)
        db.session.commit()
    return [
        f"Demo cases: {len(DEMO_PATIENTS)} open cases, {won} won and closed (recoveries and fees)",
        *work,
    ]


# Share of the Medicare fee the payer paid on each demo case.
DEMO_PAID_SHARE = [Decimal(x) for x in ("0.62", "0.55", "0.71", "0.58", "0.80", "0.66")]


def _medicare_fee(code: str, mods: list, pos: str, zip_code: str, served) -> Decimal | None:
    """One unit's Medicare fee under the fee schedule year rule (a labelled
    fallback to the latest loaded year), or None."""
    from advocate.rates.services import RateLookupError, loaded_years, medicare_price
    from advocate.rates.years import fee_year_for

    fy = fee_year_for(served.year, loaded_years())
    if fy.year_used is None:
        return None
    try:
        quote = medicare_price(
            fy.year_used, code, mods[0] if mods else None, pos=pos, zip_code=zip_code
        )
    except RateLookupError:
        return None
    return quote.amount


def _seed_work_due(cases: list, advocate, today) -> list[str]:
    """What a working firm has on its desk today: deadlines overdue, due this
    week and later, follow-ups due, an NSA case inside its open negotiation
    period and an appeal near its deadline (all relative to today)."""
    from datetime import timedelta
    from decimal import Decimal

    from advocate.cases import services as case_services
    from advocate.cases import workflow
    from advocate.deadlines import case_services as deadline_services

    lines = ["Work due (relative to today):"]
    open_cases = [c for c in cases if c.is_open]
    for case, days, label in (
        (open_cases[0], -2, "Send the itemized bill the payer asked for"),
        (open_cases[1], 2, "Call the payer's provider line for a status"),
        (open_cases[2], 0, "Upload the operative note"),
        (open_cases[3], 21, "Check the reprocessed claim"),
    ):
        deadline_services.add_manual_deadline(
            case, actor_id=None,
            data={"label": label, "due_on": (today + timedelta(days=days)).isoformat()},
        )  # fmt: skip
    lines.append("  deadlines: 1 overdue, 2 due this week, 1 in three weeks")
    actor = advocate.id if advocate else None
    for case, days in ((open_cases[4], 0), (open_cases[5], -1)):
        case_services.add_communication(
            case, actor_id=actor,
            data={"kind": "call", "direction": "outbound", "summary": "Called the payer; awaiting a callback",
                  "occurred_at": (today - timedelta(days=3)).isoformat() + "T15:00:00",
                  "follow_up_on": (today + timedelta(days=days)).isoformat()},
        )  # fmt: skip
    lines.append("  follow-ups: 2 due")
    # An emergency claim in its 30-business-day open negotiation period.
    nsa_case = next((c for c in open_cases if c.service_type == "emergency"), None)
    if nsa_case is not None:
        nsa_case.plan_type = "erisa_self_funded"
        for step in (workflow.READY, workflow.NEGOTIATING):
            if step in workflow.allowed(nsa_case.status):
                case_services.transition(nsa_case, step, actor_id=None)
        deadline_services.record_eligibility(nsa_case, actor_id=None)
        received = nsa_case.initial_payment_received_on
        if nsa_case.is_nsa_eligible and received is not None:
            sent = max(received, today - timedelta(days=6))
            cent = Decimal("0.01")
            deadline_services.record_notice(
                nsa_case, actor_id=None, today=today,
                data={"notice_sent_on": sent.isoformat(),
                      "qpa": str((nsa_case.billed_total * Decimal("0.18")).quantize(cent)),
                      "offer": str((nsa_case.billed_total * Decimal("0.45")).quantize(cent)),
                      "method": "portal"},
            )  # fmt: skip
            lines.append(f"  NSA: {nsa_case.reference} in its open negotiation period")
    # An appeal whose filing deadline is four days away.
    appeal_case = next((c for c in open_cases if c.status == workflow.APPEAL), None)
    if appeal_case is not None:
        window = case_services.appeal_deadline(appeal_case, 1, today)
        if window is not None:
            adverse = today - timedelta(days=(window - today).days - 4)
            if adverse >= appeal_case.service_from:
                case_services.file_appeal(
                    appeal_case,
                    actor_id=None,
                    data={"level": 1, "adverse_decision_on": adverse.isoformat()},
                )
                lines.append(f"  appeal: {appeal_case.reference} must be filed within 4 days")
    for c in cases:
        deadline_services.recompute_deadlines(c)
    return lines


# Cases the firm has already won: settled, paid and closed over the past
# months, so the dashboard, the reports and the fee ledger have history.
DEMO_WON = [
    (("Olivia", "Hart"), 0, "27447", "48500.00", "9800.00", "21500.00", 200),
    (("Mateo", "Rossi"), 1, "29881", "12400.00", "2100.00", "5600.00", 150),
    (("Chloé", "Dubois"), 0, "64483", "3900.00", "620.00", "1700.00", 110),
    (("Kwame", "Mensah"), 1, "27447", "46200.00", "9100.00", "19800.00", 75),
]


def _seed_won_cases(tenant: Tenant, practices, payers, advocate, today) -> int:
    from datetime import timedelta
    from decimal import Decimal

    from advocate.cases import services as case_services

    for i, ((first, last), which, code, billed, paid, agreed, days_ago) in enumerate(DEMO_WON):
        served = today - timedelta(days=days_ago)
        paid_d = Decimal(paid)
        presp = (paid_d * Decimal("0.25")).quantize(Decimal("0.01"))
        case = case_services.create_case(
            tenant_id=tenant.id,
            actor_id=None,
            data={
                "practice_id": practices[which % len(practices)].id,
                "payer_id": payers[i % len(payers)].id,
                "plan_type": "erisa_self_funded",
                "patient_first_name": first,
                "patient_last_name": last,
                "patient_dob": f"{1960 + 4 * i}-0{2 + i}-2{i}",
                "member_id": f"DEMO{300400 + i}",
                "payer_claim_number": f"NS{2025100 + i}",
                "patient_control_number": f"HV-{6000 + i}",
                "service_from": served.isoformat(),
                "service_to": served.isoformat(),
                "place_of_service": "22",
                "service_type": "other",
                "initial_payment_received_on": (served + timedelta(days=14)).isoformat(),
                "assignee_id": advocate.id if advocate else None,
                "lines": [
                    {
                        "code": code,
                        "modifiers": [],
                        "units": 1,
                        "billed": billed,
                        "allowed": str(paid_d + presp),
                        "paid": paid,
                        "patient_resp": str(presp),
                        "adjustments": [
                            {
                                "group": "CO",
                                "reason": "45",
                                "amount": str(Decimal(billed) - paid_d - presp),
                            },
                            {"group": "PR", "reason": "2", "amount": str(presp)},
                        ],
                    }
                ],
            },
        )
        for step in ("ready_to_negotiate", "negotiating"):
            case_services.transition(case, step, actor_id=None)
        case_services.transition(case, "settled", actor_id=None, agreed_amount=Decimal(agreed))
        case_services.add_payment(
            case,
            amount=Decimal(agreed) - paid_d,
            paid_on=served + timedelta(days=45),
            source="settlement",
            reference=f"SETTLE-{i + 1}",
            actor_id=None,
        )
        case_services.transition(case, "paid", actor_id=None)
        case_services.transition(case, "closed_won", actor_id=None)
    return len(DEMO_WON)


def _demo_account(email: str, name: str, password: str) -> User:
    """The demo person's account (created once, verified: demo addresses need
    no mailbox), then the database user of what follows."""
    with lookup_email(email):  # RLS on users: this one account
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=name, password_hash=hash_password(password))
            db.session.add(user)
            db.session.flush()
    user.email_verified_at = user.email_verified_at or utcnow()
    set_db_user(user.id)
    return user
