"""Forms of the deadline pages: closure days, specified state laws, the NSA calculator."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from advocate.deadlines.services import MAX_YEAR, MIN_YEAR, DeadlineError, parse_dates
from advocate.forms import choices
from advocate.practices.validators import US_STATES

DATE_MESSAGE = "Not a date: use YYYY-MM-DD."


def _plausible_year(form, field) -> None:
    if field.data is not None and not MIN_YEAR <= field.data.year <= MAX_YEAR:
        raise ValidationError(f"Choose a date between {MIN_YEAR} and {MAX_YEAR}.")


def _date(label: str, *, required: bool = False, description: str = "") -> DateField:
    # InputRequired, not DataRequired: a mistyped date already has its own
    # message and should not also read "Enter a date".
    first = InputRequired(message="Enter a date.") if required else Optional()
    return DateField(
        label,
        validators=[first, _plausible_year],
        format="%Y-%m-%d",
        invalid_value_message=DATE_MESSAGE,
        description=description,
        render_kw={"placeholder": "YYYY-MM-DD"},
    )


class ClosureForm(FlaskForm):
    day = _date("Date", required=True)
    reason = StringField(
        "Reason",
        validators=[DataRequired(message="Give the reason for the closure."), Length(max=200)],
        description="E.g. “Federal offices closed by executive order”.",
    )


STATE_CHOICES = choices(
    [("", "Choose a state…")] + [(code, f"{name} ({code})") for code, name in US_STATES.items()]
)


class StateLawForm(FlaskForm):
    state = SelectField(
        "State", choices=STATE_CHOICES, validators=[DataRequired(message="Choose a state.")]
    )
    citation = StringField(
        "Law",
        validators=[Length(max=200)],
        description="The statute or its common name, e.g. “N.Y. Fin. Serv. Law art. 6”.",
    )
    is_emergency_covered = BooleanField("Covers emergency services", default=True)
    is_facility_covered = BooleanField(
        "Covers non-emergency services by out-of-network providers at in-network facilities",
        default=True,
    )
    is_air_ambulance_covered = BooleanField(
        "Covers air ambulance services",
        default=False,
        description="Rarely: federal law governs air ambulance rates.",
    )


class TimelineForm(FlaskForm):
    """The NSA calculator: submitted by GET, so it carries no CSRF token."""

    class Meta:
        csrf = False

    received = _date(
        "Initial payment or denial received", required=True, description="Starts every count."
    )
    notice_sent = _date("Open negotiation notice sent")
    initiated = _date("IDR initiated")
    selected = _date("IDR entity selected")
    determined = _date("Payment determination made")
    closures = TextAreaField(
        "Extra closure days",
        description="Dates (YYYY-MM-DD) separated by commas or new lines, counted as closed "
        "in addition to federal holidays and the firm’s closure days.",
        render_kw={"rows": 2},
    )
    use_firm_closures = BooleanField("Use the firm’s closure days", default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra_closures: list[date] = []

    def validate_closures(self, field) -> None:
        try:
            self.extra_closures = parse_dates(field.data or "", "closures")
        except DeadlineError as err:
            raise ValidationError(err.message) from None
