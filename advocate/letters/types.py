"""The letter types and their system templates (pure data, no database).

Each type decides what its claim table may show (`table`), whether the firm
needs the practice's valid authorization to send it, and whether it is a No
Surprises Act letter: those never carry Medicare, usual-and-customary,
percentile or billed-charge figures (domain.md, "No Surprises Act"), so their
merge fields and tables simply do not offer them.

Firms copy a system template and edit their copy (versioned); the system
templates themselves live here, in code, and are the same for every firm.
"""

from __future__ import annotations

from dataclasses import dataclass

# Table kinds: what a letter's claim table shows.
TABLE_CLAIM = "claim"  # codes, dates, billed, paid, benchmark (Medicare fee)
TABLE_NSA = "nsa"  # codes and dates, then the claim's QPA and the offer: nothing else
TABLE_CODES = "codes"  # codes and dates only
TABLE_FEES = "fees"  # the practice's fee statement: payments and fees
TABLE_NONE = "none"


@dataclass(frozen=True)
class LetterType:
    key: str
    label: str
    table: str
    needs_authorization: bool = False
    is_nsa: bool = False
    recipient: str = "payer_claims"  # payer_claims, payer_appeals, practice
    category: str = "correspondence"  # the case document category it is filed under
    subject: str = ""
    body: str = ""


_RECON_BODY = """\
Dear Claims Review Department,

{{ firm.name }} represents {{ practice.name }} (NPI {{ practice.npi }}) as its authorized representative for the claim referenced above. We ask you to reconsider the payment of this claim, which was processed as out of network and paid well below a reasonable value for the services provided.

The claim was billed at {{ case.billed_total }} and paid {{ case.paid_total }}. {% if case.fee_schedule %}The line-by-line detail, with the Medicare benchmark of each service ({{ case.fee_schedule }}), is shown below.{% else %}The line-by-line detail is shown below.{% endif %}

{{ claim_table }}

We ask that you reprocess the claim and issue an additional payment that reflects a reasonable value for these services, or send us a written explanation of the methodology and data used to price it. Please direct all correspondence about this claim to our office.

Thank you for your prompt attention to this request.
"""

_APPEAL_BODY = """\
Dear Appeals Department,

On behalf of {{ practice.name }} (NPI {{ practice.npi }}), and as its authorized representative, {{ firm.name }} submits this level {{ appeal.level }} appeal of your adverse benefit determination on the claim referenced above for {{ patient.full_name }}.

The services were billed at {{ case.billed_total }}; the plan paid {{ case.paid_total }}. The payment does not reflect a reasonable value for the services rendered in the provider's geographic area{% if case.fee_schedule %}, as the Medicare benchmark figures below show ({{ case.fee_schedule }}){% endif %}.

{{ claim_table }}

We request a full and fair review of this claim, copies of all documents, records and other information relevant to the claim, and the identity of any expert consulted. Please reprocess the claim and issue the additional payment due.
"""

_EXTERNAL_BODY = """\
Dear Reviewer,

{{ firm.name }}, authorized representative of {{ practice.name }} (NPI {{ practice.npi }}), requests an external review of the final internal adverse benefit determination on the claim referenced above for {{ patient.full_name }}. The internal appeals available under the plan have been exhausted.

{{ claim_table }}

We ask the independent review organization to review the plan's determination and the enclosed records, and to direct the plan to pay a reasonable value for these services.
"""

_NSA_NOTICE_BODY = """\
Dear {{ payer.name }},

Under the No Surprises Act (42 U.S.C. 300gg-111(c)(1)(B) and 45 CFR 149.510(b)(1)), {{ practice.name }} (NPI {{ practice.npi }}), through {{ firm.name }}, initiates the 30-business-day open negotiation period for the item or service listed below.

{{ claim_table }}

We propose a total out-of-network rate of {{ nsa.offer }} for these services. Please contact our office to negotiate. If we cannot agree within the open negotiation period, we may initiate the federal independent dispute resolution process.
"""

_IDR_BODY = """\
Dear Certified IDR Entity,

This summary accompanies the offer of {{ practice.name }} (NPI {{ practice.npi }}), submitted by {{ firm.name }}, in dispute {{ nsa.idr_reference }}.

{{ claim_table }}

Our offer of {{ nsa.offer }} reflects the qualifying payment amount and the additional circumstances the statute directs the certified IDR entity to consider: the level of training, experience and quality and outcomes of the provider, the acuity of the patient and the complexity of the services, and the good-faith efforts of the parties to enter into a network agreement.
"""

_SCA_BODY = """\
Dear Provider Relations,

{{ firm.name }}, on behalf of {{ practice.name }} (NPI {{ practice.npi }}), requests a single case agreement for the care of {{ patient.full_name }} (member ID {{ patient.member_id }}).

{{ claim_table }}

We propose reimbursement at a reasonable rate for the services listed. Please contact our office to agree terms, and send the authorization number for this agreement.
"""

_RECORDS_BODY = """\
Dear Claims Review Department,

Enclosed are the medical records you requested for the claim referenced above, for the services listed below.

{{ claim_table }}

Please associate these records with the claim and complete its review. Direct any questions to our office.
"""

_AOR_BODY = """\
To whom it may concern,

{{ practice.name }} (NPI {{ practice.npi }}, TIN {{ practice.tin_masked }}) designates {{ firm.name }} as its authorized representative for the claim referenced above, including requests for reconsideration, appeals, external review, open negotiation and independent dispute resolution, and the receipt of information about the claim.

Please direct all correspondence about this claim to {{ firm.name }} at the address above.

Signed for {{ practice.name }}:

______________________________    Date: ____________
"""

_FEE_BODY = """\
Dear {{ practice.name }},

This statement shows the payments received on the case referenced above and the fees earned under your fee agreement ({{ fee.percent }} of the {{ fee.basis }}).

{{ claim_table }}

The total fee on this case is {{ fee.total }}. Thank you for working with {{ firm.name }}.
"""

LETTER_TYPES: dict[str, LetterType] = {
    t.key: t
    for t in (
        LetterType(
            "reconsideration",
            "Initial reconsideration / underpayment dispute",
            TABLE_CLAIM,
            needs_authorization=True,
            subject="Request for reconsideration: claim {{ case.claim_number }}",
            body=_RECON_BODY,
        ),
        LetterType(
            "appeal_level_1",
            "Level 1 appeal",
            TABLE_CLAIM,
            needs_authorization=True,
            recipient="payer_appeals",
            subject="Level 1 appeal: claim {{ case.claim_number }}",
            body=_APPEAL_BODY.replace("{{ appeal.level }}", "1"),
        ),
        LetterType(
            "appeal_level_2",
            "Level 2 appeal",
            TABLE_CLAIM,
            needs_authorization=True,
            recipient="payer_appeals",
            subject="Level 2 appeal: claim {{ case.claim_number }}",
            body=_APPEAL_BODY.replace("{{ appeal.level }}", "2"),
        ),
        LetterType(
            "external_review",
            "External review request",
            TABLE_CLAIM,
            needs_authorization=True,
            recipient="payer_appeals",
            subject="Request for external review: claim {{ case.claim_number }}",
            body=_EXTERNAL_BODY,
        ),
        LetterType(
            "nsa_open_negotiation",
            "No Surprises Act open negotiation notice",
            TABLE_NSA,
            is_nsa=True,
            subject="Open negotiation notice under the No Surprises Act: claim {{ case.claim_number }}",
            body=_NSA_NOTICE_BODY,
        ),
        LetterType(
            "idr_offer_summary",
            "IDR offer summary",
            TABLE_NSA,
            is_nsa=True,
            subject="Offer summary, federal IDR dispute {{ nsa.idr_reference }}",
            body=_IDR_BODY,
        ),
        LetterType(
            "sca_request",
            "Single case agreement request",
            TABLE_CLAIM,
            subject="Single case agreement request: {{ patient.full_name }}",
            body=_SCA_BODY,
        ),
        LetterType(
            "records_cover",
            "Medical records cover letter",
            TABLE_CODES,
            subject="Medical records: claim {{ case.claim_number }}",
            body=_RECORDS_BODY,
        ),
        LetterType(
            "authorized_representative",
            "Authorized-representative designation",
            TABLE_NONE,
            category="authorization",
            subject="Designation of authorized representative: claim {{ case.claim_number }}",
            body=_AOR_BODY,
        ),
        LetterType(
            "fee_statement",
            "Practice fee statement",
            TABLE_FEES,
            recipient="practice",
            subject="Fee statement: case {{ case.reference }}",
            body=_FEE_BODY,
        ),
    )
}


def letter_type(key: str) -> LetterType:
    try:
        return LETTER_TYPES[key]
    except KeyError:
        raise KeyError(f"unknown letter type {key!r}") from None


def type_choices() -> list[tuple[str, str]]:
    return [(t.key, t.label) for t in LETTER_TYPES.values()]
