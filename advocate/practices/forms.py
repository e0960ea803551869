"""Forms for practices, fee agreements, authorizations, contacts and portal
invitations. Field rules live in the services (shared with the API); the
forms coerce types and carry the labels."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, StopValidation

from advocate.forms import choices
from advocate.practices.models import BASIS_LABELS, CADENCE_LABELS, IDR_BEARER_LABELS
from advocate.practices.validators import PLACES_OF_SERVICE, SPECIALTIES, US_STATES
from tenants.models import PRACTICE_ADMIN, PRACTICE_USER

STATUS_PAIRS = [("active", "Active"), ("paused", "Paused"), ("offboarded", "Offboarded")]
SPECIALTY_PAIRS = [(s, s) for s in SPECIALTIES]
STATE_PAIRS = [(code, f"{code} · {name}") for code, name in sorted(US_STATES.items())]
POS_PAIRS = [(code, f"{code} · {name}") for code, name in PLACES_OF_SERVICE.items()]


class _Required:
    """Marks a field required (the asterisk) and refuses an empty value; the
    service writes the precise message for everything else."""

    field_flags = {"required": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if field.data is None or (isinstance(field.data, str) and not field.data.strip()):
            raise StopValidation(self.message)


class PracticeForm(FlaskForm):
    name = StringField(
        "Legal name", validators=[_Required("Enter the practice's legal name."), Length(max=200)]
    )
    npi = StringField(
        "NPI",
        validators=[_Required("Enter the 10-digit NPI.")],
        description="The group (type 2) NPI: 10 digits, checked against its check digit.",
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 10},
    )
    tin = StringField(
        "TIN (EIN)",
        description="9 digits, e.g. 12-3456789. Stored, and only ever shown masked.",
        render_kw={"autocomplete": "off", "maxlength": 10},
    )
    specialty = SelectField(
        "Specialty",
        choices=choices([("", "Choose…")] + SPECIALTY_PAIRS),
        validators=[_Required("Choose a specialty.")],
    )
    default_pos = SelectField(
        "Default place of service",
        choices=choices(POS_PAIRS),
        default="11",
        description="Prefills the place of service of new claim lines.",
    )
    status = SelectField("Status", choices=choices(STATUS_PAIRS), default="active")
    address_line1 = StringField(
        "Street address", validators=[_Required("Enter the street address."), Length(max=200)]
    )
    address_line2 = StringField("Suite, floor", validators=[Length(max=200)])
    city = StringField("City", validators=[_Required("Enter the city."), Length(max=100)])
    state = SelectField(
        "State",
        choices=choices([("", "Choose…")] + STATE_PAIRS),
        validators=[_Required("Choose a state.")],
    )
    zip = StringField(
        "ZIP code",
        validators=[_Required("Enter the ZIP code.")],
        description="Sets the Medicare locality used for benchmarks.",
        render_kw={"inputmode": "numeric", "autocomplete": "postal-code", "maxlength": 10},
    )
    phone = StringField("Phone", validators=[Length(max=40)], render_kw={"autocomplete": "tel"})
    fax = StringField("Fax", validators=[Length(max=40)])
    notes = TextAreaField("Notes", validators=[Length(max=5000)], render_kw={"rows": 3})

    def data_for_service(self) -> dict:
        return {
            name: getattr(self, name).data
            for name in (
                "name",
                "npi",
                "tin",
                "specialty",
                "default_pos",
                "status",
                "address_line1",
                "address_line2",
                "city",
                "state",
                "zip",
                "phone",
                "fax",
                "notes",
            )
        }


class NewPracticeForm(PracticeForm):
    """On creation the TIN is required; on edit a blank TIN keeps the stored one."""

    tin = StringField(
        "TIN (EIN)",
        validators=[_Required("Enter the practice's 9-digit TIN (EIN).")],
        description="9 digits, e.g. 12-3456789. Stored, and only ever shown masked.",
        render_kw={"autocomplete": "off", "maxlength": 10},
    )


class ContactForm(FlaskForm):
    """Field names carry a prefix: the form shares the practice page with others."""

    contact_name = StringField(
        "Name", validators=[_Required("Enter the contact's name."), Length(max=200)]
    )
    contact_title = StringField(
        "Role", validators=[Length(max=100)], description="e.g. Billing manager"
    )
    contact_email = EmailField(
        "Email", validators=[Optional(), Email(check_deliverability=False), Length(max=254)]
    )
    contact_phone = StringField("Phone", validators=[Length(max=40)])
    contact_is_primary = BooleanField("Primary contact")

    def data_for_service(self) -> dict:
        return {
            k: getattr(self, "contact_" + k).data
            for k in ("name", "title", "email", "phone", "is_primary")
        }


class FeeAgreementForm(FlaskForm):
    effective_date = DateField(
        "Effective date",
        validators=[InputRequired("Enter the date this version takes effect.")],
        description="Applies to payments received on or after this date, until the next version.",
    )
    percent = DecimalField(
        "Fee percent",
        places=2,
        validators=[InputRequired("Enter the fee percent (0 to 100).")],
        description="0 to 100, at most two decimals (e.g. 27.50).",
    )
    basis = RadioField("Basis", choices=choices(list(BASIS_LABELS.items())), default="incremental")
    minimum = DecimalField(
        "Minimum per case",
        places=2,
        validators=[Optional()],
        description="In dollars; leave empty for none.",
    )
    cap = DecimalField(
        "Cap per case",
        places=2,
        validators=[Optional()],
        description="In dollars; leave empty for none. Not below the minimum.",
    )
    idr_fee_bearer = SelectField(
        "IDR fees borne by", choices=choices(list(IDR_BEARER_LABELS.items())), default="firm"
    )
    billing_cadence = SelectField(
        "Billing cadence", choices=choices(list(CADENCE_LABELS.items())), default="per_settlement"
    )
    notes = TextAreaField("Notes", validators=[Length(max=5000)], render_kw={"rows": 3})


class AuthorizationForm(FlaskForm):
    signed_on = DateField("Signed on", validators=[InputRequired("Enter the date it was signed.")])
    expires_on = DateField(
        "Expires on",
        validators=[Optional()],
        description="Valid through this date. Leave empty if it runs until revoked.",
    )
    scope = RadioField(
        "Scope",
        choices=choices([("all", "All payers"), ("listed", "Listed payers only")]),
        default="all",
    )
    payer_names = TextAreaField(
        "Payers covered",
        render_kw={"rows": 3},
        description="For listed payers: one payer name per line.",
    )
    payer_ids = StringField(
        "Payer ids", description="For listed payers: payer record ids, comma-separated."
    )
    notes = TextAreaField("Notes", validators=[Length(max=5000)], render_kw={"rows": 2})


PORTAL_ROLE_PAIRS = [
    (
        PRACTICE_ADMIN,
        "Practice admin — reads the practice's data and manages its colleagues' access",
    ),
    (PRACTICE_USER, "Practice user — reads the practice's data"),
]


class PortalInviteForm(FlaskForm):
    """A firm manager invites someone to a practice's portal (prefixed names:
    the form shares the practice page with others)."""

    invite_email = EmailField(
        "Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)]
    )
    invite_name = StringField("Name", validators=[Length(max=200)])
    invite_role = SelectField("Access", choices=choices(PORTAL_ROLE_PAIRS), default=PRACTICE_ADMIN)


class ColleagueInviteForm(FlaskForm):
    """A practice admin invites a colleague (always a practice user)."""

    email = EmailField(
        "Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)]
    )
    name = StringField("Name", validators=[Length(max=200)])


def apply_errors(form, errors, prefix: str = "") -> None:
    """Put service errors ``(field, message)`` next to their fields; errors
    on fields the form lacks go to the form-level summary."""
    for field_name, message in errors:
        field = getattr(form, prefix + field_name, None)
        if field is not None and hasattr(field, "errors"):
            current = list(field.errors) if not isinstance(field.errors, dict) else []
            if message not in current:
                field.errors = current + [message]
        else:
            form.form_errors.append(message)
