"""Forms of a case's NSA track page and deadline panel.

The rules live in :mod:`advocate.deadlines.case_services`; these forms carry
labels and widgets. Several share one page, so each has a prefix, and the
CSRF token (checked for every POST by CSRFProtect) is rendered by hand.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from advocate.cases.forms import SERVICE_TYPE_LABELS
from advocate.cases.models import OFFER_PARTIES, SERVICE_TYPES
from advocate.deadlines.case_models import IDR_KINDS, NOTICE_METHODS, PREVAILING_PARTIES
from advocate.forms import choices
from advocate.practices.validators import US_STATES

DATE = {"type": "date"}
MONEY = {"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"}


class NsaForm(FlaskForm):
    class Meta:
        csrf = False

    action = HiddenField()

    def service_data(self) -> dict:
        return {name: field.data for name, field in self._fields.items() if name != "action"}


class EligibilityForm(NsaForm):
    service_type = SelectField(
        "Service type",
        validate_choice=False,
        choices=choices([(s, SERVICE_TYPE_LABELS[s]) for s in SERVICE_TYPES]),
    )
    state = SelectField(
        "State",
        validate_choice=False,
        choices=choices(
            [("", "Not recorded (use the practice's)")]
            + [(c, f"{n} ({c})") for c, n in US_STATES.items()]
        ),
        description="Where the service was furnished: a specified state law may set the rate.",
    )
    facility_in_network = SelectField(
        "Facility in network?",
        validate_choice=False,
        choices=choices([("", "Not known"), ("yes", "Yes"), ("no", "No")]),
    )


class ReceivedForm(NsaForm):
    received_on = StringField(
        "Initial payment or denial received",
        render_kw=DATE,
        description="Starts the 30-business-day period to send the open negotiation notice.",
    )


class NoticeForm(NsaForm):
    notice_sent_on = StringField(
        "Notice sent on",
        render_kw=DATE,
        description="Starts the 30-business-day open negotiation period.",
    )
    qpa = StringField("QPA", render_kw=MONEY, description="The plan's qualifying payment amount.")
    offer = StringField("Our offer", render_kw=MONEY)
    method = SelectField(
        "Sent by",
        validate_choice=False,
        choices=choices([("", "Choose…"), *NOTICE_METHODS.items()]),
    )


class NegotiationOfferForm(NsaForm):
    party = SelectField(
        "From",
        validate_choice=False,
        choices=choices([(p, "The payer" if p == "payer" else "Us") for p in OFFER_PARTIES]),
    )
    amount = StringField("Amount", render_kw=MONEY)
    offered_on = StringField("Date", render_kw=DATE)
    basis = StringField("Basis", render_kw={"autocomplete": "off"})
    note = TextAreaField("Note", render_kw={"rows": 2})


class InitiateForm(NsaForm):
    initiated_on = StringField("IDR initiated on", render_kw=DATE)
    idr_reference = StringField(
        "Dispute number",
        render_kw={"autocomplete": "off"},
        description="The federal IDR portal's reference, e.g. DISP-123456.",
    )
    idr_kind = SelectField(
        "Dispute", validate_choice=False, choices=choices(list(IDR_KINDS.items()))
    )


class ResponseForm(NsaForm):
    response_on = StringField("Response received on", render_kw=DATE)
    response_note = TextAreaField(
        "What they said",
        render_kw={"rows": 2},
        description="E.g. objection to the IDR entity, or eligibility questioned.",
    )


class IdreForm(NsaForm):
    idre_name = StringField("Certified IDR entity", render_kw={"autocomplete": "off"})
    selected_on = StringField("Selected on", render_kw=DATE)


class IdrOfferForm(NsaForm):
    our_offer = StringField("Our offer", render_kw=MONEY)
    their_offer = StringField("Their offer", render_kw=MONEY, description="If known.")
    offers_submitted_on = StringField("Submitted on", render_kw=DATE)
    offer_basis = TextAreaField(
        "Basis of our offer",
        render_kw={"rows": 4},
        description="Argue from the QPA and the statutory factors (training, quality, market "
        "share, acuity, teaching status, good-faith network efforts). Medicare, usual "
        "and customary and billed-charge figures are refused.",
    )


class FeesForm(NsaForm):
    admin_fee_paid_on = StringField("Administrative fee paid on", render_kw=DATE)
    idre_fee = StringField("IDR entity fee", render_kw=MONEY)
    idre_fee_paid_on = StringField("IDR entity fee paid on", render_kw=DATE)


class DeterminationForm(NsaForm):
    determined_on = StringField("Determination made on", render_kw=DATE)
    prevailing_party = SelectField(
        "Prevailing offer",
        validate_choice=False,
        choices=choices([("", "Choose…"), *PREVAILING_PARTIES.items()]),
    )
    prevailing_amount = StringField(
        "Amount", render_kw=MONEY, description="Blank: the prevailing party's offer."
    )


class AwardPaymentForm(NsaForm):
    payment_received_on = StringField("Payment received on", render_kw=DATE)
    payment_amount = StringField(
        "Amount", render_kw=MONEY, description="Also records the payment on the case's ledger."
    )


class ManualDeadlineForm(NsaForm):
    label = StringField("What is due", render_kw={"autocomplete": "off"})
    due_on = StringField("Due on", render_kw=DATE)
    note = TextAreaField("Note", render_kw={"rows": 2})


# action -> (form class, prefix)
FORMS: dict[str, tuple[type[NsaForm], str]] = {
    "eligibility": (EligibilityForm, "elig"),
    "received": (ReceivedForm, "recv"),
    "notice": (NoticeForm, "notice"),
    "offer": (NegotiationOfferForm, "offer"),
    "initiate": (InitiateForm, "idr"),
    "response": (ResponseForm, "resp"),
    "idre": (IdreForm, "idre"),
    "idr_offers": (IdrOfferForm, "idroffer"),
    "fees": (FeesForm, "fees"),
    "determination": (DeterminationForm, "det"),
    "payment": (AwardPaymentForm, "pay"),
}


def apply_errors(form: NsaForm, errors: list[tuple[str, str]]) -> list[str]:
    """Put each service error on its field; return those that fit no field."""
    loose = []
    for name, message in errors:
        field = form._fields.get(name)
        if field is not None and name != "action":
            field.errors = [*field.errors, message]
        else:
            loose.append(message if name in ("eligibility", "case") else f"{name}: {message}")
    return loose
