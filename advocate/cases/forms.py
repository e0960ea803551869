"""Forms for the case page, intake and single case agreements. The rules
live in the services (shared with the API); the forms carry labels and
widgets, and turn what a person types into the services' input."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length

from advocate.cases import workflow
from advocate.cases.models import (
    APPEAL_METHODS,
    APPEAL_OUTCOMES,
    COMM_DIRECTIONS,
    COMM_KINDS,
    OFFER_PARTIES,
    SCA_RATE_TYPES,
    SCA_STATUSES,
    SERVICE_TYPES,
)
from advocate.forms import choices
from advocate.payers.defaults import PLAN_TYPES
from advocate.practices.validators import PLACES_OF_SERVICE

INTAKE_ROWS = 6  # line rows the intake form starts with
MORE_ROWS = 3  # rows "More lines" adds
MAX_ROWS = 60

COMM_KIND_LABELS = {
    "call": "Call",
    "letter": "Letter",
    "fax": "Fax",
    "email": "Email",
    "portal": "Portal message",
    "meeting": "Meeting",
}
SERVICE_TYPE_LABELS = {
    "emergency": "Emergency",
    "nonemergency_in_network_facility": "Non-emergency at an in-network facility",
    "air_ambulance": "Air ambulance",
    "other": "Other",
}
PAYMENT_SOURCE_LABELS = {
    "remittance": "Remittance (835/EOB)",
    "check": "Check",
    "eft": "EFT",
    "settlement": "Settlement",
    "idr_award": "IDR award",
    "recoupment": "Recoupment",
    "adjustment": "Adjustment",
}
OUTCOME_LABELS = {
    "pending": "Pending",
    "upheld": "Upheld (denied)",
    "overturned": "Overturned",
    "partially_overturned": "Partly overturned",
    "withdrawn": "Withdrawn",
}
SCA_STATUS_LABELS = {
    "requested": "Requested",
    "offered": "Offered",
    "countered": "Countered",
    "signed": "Signed",
    "expired": "Expired",
    "declined": "Declined",
}
SCA_RATE_LABELS = {
    "medicare_percent": "Percent of Medicare",
    "billed_percent": "Percent of billed",
    "fixed": "Fixed amount per code",
}
APPEAL_LEVEL_LABELS = {
    1: "Level 1 (reconsideration)",
    2: "Level 2",
    3: "Level 3",
    4: "Level 4 (external review)",
}

DATE = {"type": "date"}
MONEY = {"inputmode": "decimal", "autocomplete": "off"}


class PanelForm(FlaskForm):
    """A form on the case page. Several share one page, so each has a prefix;
    the CSRF token is checked for every POST by CSRFProtect and rendered by
    hand in the template (a prefixed FlaskForm would rename it)."""

    class Meta:
        csrf = False

    def service_data(self) -> dict:
        return {name: field.data for name, field in self._fields.items()}


# --------------------------------------------------------------------------- intake


class LineForm(Form):
    code = StringField(
        "Code", validators=[Length(max=5)], render_kw={"autocomplete": "off", "maxlength": 5}
    )
    modifiers = StringField(
        "Modifiers",
        description="Up to four, e.g. 26 59",
        render_kw={"autocomplete": "off", "maxlength": 20},
    )
    units = StringField("Units", render_kw={"inputmode": "decimal", "placeholder": "1"})
    billed = StringField("Billed", render_kw=MONEY)
    allowed = StringField("Allowed", render_kw=MONEY)
    paid = StringField("Paid", render_kw=MONEY)
    patient_resp = StringField("Patient resp.", render_kw=MONEY)
    adjustments = StringField(
        "Adjustments",
        description="GROUP-REASON AMOUNT, e.g. CO-45 812.00; PR-2 40",
        render_kw={"autocomplete": "off"},
    )
    remark_codes = StringField(
        "Remark codes", description="e.g. N864 M15", render_kw={"autocomplete": "off"}
    )

    def is_blank(self) -> bool:
        return not any((f.data or "").strip() for f in self)


_ADJ_RE = re.compile(
    r"^([A-Za-z]{2})\s*[-:/ ]\s*([A-Za-z0-9]{1,5})\s+\$?(-?[0-9][0-9,]*(?:\.[0-9]+)?)$"
)


def parse_adjustments(text: str) -> tuple[list[dict], str | None]:
    """'CO-45 812.00; PR-2 40' -> [{'group': 'CO', 'reason': '45', 'amount': '812.00'}, ...]."""
    out = []
    for chunk in re.split(r"[;\n]+", text or ""):
        chunk = chunk.strip().rstrip(",")
        if not chunk:
            continue
        m = _ADJ_RE.match(chunk)
        if not m:
            return out, f"'{chunk}' is not GROUP-REASON AMOUNT (e.g. CO-45 812.00)"
        out.append(
            {"group": m.group(1).upper(), "reason": m.group(2).upper(), "amount": m.group(3)}
        )
    return out, None


class CaseForm(FlaskForm):
    practice_id = SelectField("Practice", validate_choice=False)
    payer_id = SelectField("Payer", validate_choice=False)
    plan_type = SelectField(
        "Plan type", validate_choice=False, choices=choices([("", "Choose…"), *PLAN_TYPES.items()])
    )
    service_type = SelectField(
        "Service type",
        validate_choice=False,
        default="other",
        choices=choices([(s, SERVICE_TYPE_LABELS[s]) for s in SERVICE_TYPES]),
        description="Decides whether the No Surprises Act may apply.",
    )
    patient_first_name = StringField("Patient first name", render_kw={"autocomplete": "off"})
    patient_last_name = StringField("Patient last name", render_kw={"autocomplete": "off"})
    patient_dob = StringField("Date of birth", render_kw=DATE)
    member_id = StringField("Member ID", render_kw={"autocomplete": "off"})
    rendering_npi = StringField(
        "Rendering provider NPI", render_kw={"inputmode": "numeric", "maxlength": 10}
    )
    payer_claim_number = StringField("Payer claim number", render_kw={"autocomplete": "off"})
    patient_control_number = StringField(
        "Patient control number", render_kw={"autocomplete": "off"}
    )
    service_from = StringField("First date of service", render_kw=DATE)
    service_to = StringField(
        "Last date of service", render_kw=DATE, description="Blank: the same day."
    )
    place_of_service = SelectField(
        "Place of service",
        validate_choice=False,
        choices=choices(
            [("", "Practice default"), *((c, f"{c} · {n}") for c, n in PLACES_OF_SERVICE.items())]
        ),
    )
    initial_payment_received_on = StringField(
        "Initial payment received",
        render_kw=DATE,
        description="When the remittance with the payer's payment arrived.",
    )
    assignee_id = SelectField("Assigned to", validate_choice=False)
    lines = FieldList(FormField(LineForm), min_entries=INTAKE_ROWS, max_entries=MAX_ROWS)

    HEADER = (
        "practice_id",
        "payer_id",
        "plan_type",
        "service_type",
        "patient_first_name",
        "patient_last_name",
        "patient_dob",
        "member_id",
        "rendering_npi",
        "payer_claim_number",
        "patient_control_number",
        "service_from",
        "service_to",
        "place_of_service",
        "initial_payment_received_on",
    )

    # Marked required (asterisk, aria-required) without WTForms validating:
    # the service checks the case, and the form says what it found.
    REQUIRED = (
        "practice_id",
        "payer_id",
        "plan_type",
        "patient_first_name",
        "patient_last_name",
        "service_from",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.REQUIRED:
            getattr(self, name).flags.required = True

    def add_rows(self, n: int = MORE_ROWS) -> None:
        for _ in range(n):
            if len(self.lines.entries) >= MAX_ROWS:
                break
            self.lines.append_entry()

    def service_data(self) -> tuple[dict, dict[int, int], list[tuple[str, str]]]:
        """(input for validate_case_input, {service line number: form row},
        problems found while reading the rows)."""
        data = {name: getattr(self, name).data for name in self.HEADER}
        lines: list[dict] = []
        rows: dict[int, int] = {}
        problems: list[tuple[str, str]] = []
        for row, entry in enumerate(self.lines.entries):
            sub = entry.form
            if sub.is_blank():
                continue
            adjustments, msg = parse_adjustments(sub.adjustments.data)
            n = len(lines) + 1
            rows[n] = row
            if msg:
                problems.append((f"lines[{n}].adjustments", msg))
            line = {
                "code": sub.code.data,
                "modifiers": sub.modifiers.data,
                "units": sub.units.data,
                "billed": sub.billed.data,
                "allowed": sub.allowed.data,
                "adjustments": adjustments,
                "remark_codes": (sub.remark_codes.data or "").replace(",", " ").split(),
            }
            for money_field in ("paid", "patient_resp"):
                value = getattr(sub, money_field).data
                line[money_field] = value if (value or "").strip() else "0"
            lines.append(line)
        data["lines"] = lines
        return data, rows, problems


_LINE_ERR = re.compile(r"^lines\[(\d+)\](?:\.([a-z_]+))?")


# The service speaks to API callers ("unknown practice", "must be one of
# erisa_self_funded, ..."); the form speaks to a person: a whole sentence
# that names the field and says what to do.
_CHOOSE = {
    "practice_id": "Choose the practice this claim is for.",
    "payer_id": "Choose the payer that processed the claim.",
    "plan_type": "Choose the patient's plan type: it decides which rules and deadlines apply.",
    "service_type": "Choose a service type from the list.",
    "assignee_id": "Choose one of the firm's advocates, or leave it unassigned.",
}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() or len(text) < 2 else text


def human_case_error(name: str, message: str, label: str) -> str:
    """One service message for `name` as the intake form says it."""
    subject = _lower_first(label)
    if name in _CHOOSE and (
        message.startswith(("unknown", "must be one of", "is not one of"))
        or message == "is required"
    ):
        return _CHOOSE[name]
    if name == "place_of_service":
        if message.startswith("''"):
            return "This practice has no default place of service: choose the place of service."
        return "Choose a place of service from the list."
    if message == "is required":
        return f"Enter the {subject}."
    if message == "is in the future":
        return f"{label} cannot be in the future."
    if message.startswith("is longer than"):
        return f"{label} {message}: shorten it."
    if message == "is before the first date of service":
        return "The last date of service cannot be before the first date of service."
    if message.endswith("is not a date (YYYY-MM-DD)"):
        return f"{label} is not a date: use the date picker or YYYY-MM-DD."
    if message.endswith("is not an amount"):
        return f"{label} is not an amount: type it like 1250.00."
    if message == "a case needs at least one service line":
        return "Add at least one service line: its code and the amount billed."
    if message[:1].islower():
        return f"{label} {message}."
    return message


def apply_case_errors(
    form: CaseForm, errors: list[tuple[str, str]], rows: dict[int, int]
) -> list[tuple[str, str, str]]:
    """Put each service error on its field or line row, in the form's words;
    return the summary [(anchor id, label, message)] for the top of the form."""
    summary = []
    for name, message in errors:
        m = _LINE_ERR.match(name)
        if m:
            n = int(m.group(1))
            row = rows.get(n, n - 1)
            if row >= len(form.lines.entries):
                continue
            sub = form.lines.entries[row].form
            field = getattr(sub, m.group(2) or "code", None) or sub.code
            label = f"Line {row + 1} {field.label.text.lower()}"
            text = human_case_error(m.group(2) or "code", message, field.label.text)
            field.errors = [*field.errors, text]
            summary.append((field.id, label, text))
            continue
        if name == "lines":
            first = form.lines.entries[0].form.code
            text = human_case_error(name, message, "Service lines")
            first.errors = [*first.errors, text]
            summary.append((first.id, "Service lines", text))
            continue
        field = getattr(form, name, None)
        if field is None:
            label = name.replace("_", " ").capitalize()
            summary.append(("", label, human_case_error(name, message, label)))
            continue
        text = human_case_error(name, message, field.label.text)
        field.errors = [*field.errors, text]
        summary.append((field.id, field.label.text, text))
    return summary


# --------------------------------------------------------------------------- case page panels


class TransitionForm(PanelForm):
    to = HiddenField()
    note = StringField("Note", validators=[Length(max=2000)])
    appeal_level = SelectField(
        "Appeal level",
        validate_choice=False,
        choices=choices([(str(k), v) for k, v in APPEAL_LEVEL_LABELS.items()]),
    )
    agreed_amount = StringField("Agreed amount", render_kw=MONEY)


class CommunicationForm(PanelForm):
    kind = SelectField(
        "Type",
        validate_choice=False,
        choices=choices([(k, COMM_KIND_LABELS[k]) for k in COMM_KINDS]),
    )
    direction = SelectField(
        "Direction",
        validate_choice=False,
        choices=choices([(d, d.title()) for d in COMM_DIRECTIONS]),
    )
    occurred_at = StringField("Date and time", render_kw={"type": "datetime-local"})
    contact_name = StringField("Payer contact", validators=[Length(max=200)])
    reference_number = StringField("Reference number", validators=[Length(max=80)])
    summary = TextAreaField("Summary", render_kw={"rows": 3})
    outcome = StringField("Outcome", validators=[Length(max=500)])
    follow_up_on = StringField(
        "Follow up on",
        render_kw=DATE,
        description="Becomes a task on the caseload until marked done.",
    )


class OfferForm(PanelForm):
    party = SelectField(
        "From",
        validate_choice=False,
        choices=choices(
            [(p, "Payer offer" if p == "payer" else "Our counteroffer") for p in OFFER_PARTIES]
        ),
    )
    amount = StringField("Amount", render_kw=MONEY)
    basis = StringField(
        "Basis", validators=[Length(max=200)], description="e.g. 150% of Medicare, 60% of billed"
    )
    offered_on = StringField("Date", render_kw=DATE)
    expires_on = StringField("Expires", render_kw=DATE)
    note = TextAreaField("Note", render_kw={"rows": 2})


class NegotiationForm(PanelForm):
    target_amount = StringField("Target", render_kw=MONEY, description="What we aim to settle at.")
    floor_amount = StringField(
        "Walk-away floor", render_kw=MONEY, description="Below this we appeal or go to IDR."
    )


class AppealForm(PanelForm):
    level = SelectField(
        "Level",
        validate_choice=False,
        choices=choices([(str(k), v) for k, v in APPEAL_LEVEL_LABELS.items()]),
    )
    adverse_decision_on = StringField(
        "Adverse decision received",
        render_kw=DATE,
        description="The deadline comes from the payer's policy for this level.",
    )
    filed_on = StringField("Filed on", render_kw=DATE)
    method = SelectField(
        "Method",
        validate_choice=False,
        choices=choices([("", "Not yet"), *((m, m.title()) for m in APPEAL_METHODS)]),
    )
    tracking_number = StringField("Tracking number", validators=[Length(max=80)])
    note = TextAreaField("Note", render_kw={"rows": 2})


class AppealDecisionForm(PanelForm):
    outcome = SelectField(
        "Outcome",
        validate_choice=False,
        choices=choices([(o, OUTCOME_LABELS[o]) for o in APPEAL_OUTCOMES]),
    )
    decision_on = StringField("Decision date", render_kw=DATE)
    amount_awarded = StringField("Amount awarded", render_kw=MONEY)
    filed_on = StringField("Filed on", render_kw=DATE)
    method = SelectField(
        "Method",
        validate_choice=False,
        choices=choices([("", "—"), *((m, m.title()) for m in APPEAL_METHODS)]),
    )
    tracking_number = StringField("Tracking number", validators=[Length(max=80)])
    note = TextAreaField("Note", render_kw={"rows": 2})


class PaymentForm(PanelForm):
    paid_on = StringField("Date", render_kw=DATE)
    amount = StringField(
        "Amount", render_kw=MONEY, description="A recoupment is a negative amount."
    )
    source = SelectField(
        "Source",
        validate_choice=False,
        choices=choices([(s, PAYMENT_SOURCE_LABELS[s]) for s in PAYMENT_SOURCE_LABELS]),
    )
    reference = StringField("Check / EFT number", validators=[Length(max=80)])
    note = StringField("Note", validators=[Length(max=500)])


class NoteForm(PanelForm):
    body = TextAreaField("Note", render_kw={"rows": 3})
    is_shared = BooleanField(
        "Visible to the practice", description="Otherwise only firm staff see it."
    )


class ScaLinkForm(PanelForm):
    sca_id = SelectField("Single case agreement", validate_choice=False)


# --------------------------------------------------------------------------- single case agreements


class ScaForm(FlaskForm):
    practice_id = SelectField("Practice", validate_choice=False)
    payer_id = SelectField("Payer", validate_choice=False)
    authorization_number = StringField("Payer authorization number", validators=[Length(max=80)])
    patient_first_name = StringField("Patient first name", render_kw={"autocomplete": "off"})
    patient_last_name = StringField("Patient last name", render_kw={"autocomplete": "off"})
    patient_dob = StringField("Date of birth", render_kw=DATE)
    member_id = StringField("Member ID", render_kw={"autocomplete": "off"})
    codes = StringField(
        "Covered codes", description="CPT/HCPCS codes, separated by spaces or commas."
    )
    starts_on = StringField("From", render_kw=DATE)
    ends_on = StringField("To", render_kw=DATE)
    visits_allowed = StringField(
        "Visits",
        render_kw={"inputmode": "numeric"},
        description="Blank: no limit. Visits used are counted from the claims under it.",
    )
    rate_type = SelectField(
        "Rate",
        validate_choice=False,
        choices=choices([(r, SCA_RATE_LABELS[r]) for r in SCA_RATE_TYPES]),
    )
    rate_percent = StringField(
        "Percent",
        render_kw={"inputmode": "decimal"},
        description="For a percent rate, e.g. 140 for 140% of Medicare.",
    )
    fixed_rates = TextAreaField(
        "Fixed amounts",
        render_kw={"rows": 3},
        description="For fixed rates: one CODE=AMOUNT per line, e.g. 99213=150.00 (per unit).",
    )
    status = SelectField(
        "Status",
        validate_choice=False,
        choices=choices([(s, SCA_STATUS_LABELS[s]) for s in SCA_STATUSES]),
    )
    signed_on = StringField("Signed on", render_kw=DATE)
    document_id = SelectField("Signed document", validate_choice=False)
    note = TextAreaField("Note", render_kw={"rows": 2})

    def service_data(self) -> dict:
        return {name: f.data for name, f in self._fields.items() if name != "csrf_token"}

    def fill_from(self, sca) -> None:
        for name in ("practice_id", "payer_id", "document_id"):
            value = getattr(sca, name)
            getattr(self, name).data = "" if value is None else str(value)
        for name in (
            "authorization_number",
            "patient_first_name",
            "patient_last_name",
            "member_id",
            "rate_type",
            "status",
            "note",
        ):
            getattr(self, name).data = getattr(sca, name) or ""
        for name in ("patient_dob", "starts_on", "ends_on", "signed_on"):
            value = getattr(sca, name)
            getattr(self, name).data = value.isoformat() if value else ""
        self.visits_allowed.data = "" if sca.visits_allowed is None else str(sca.visits_allowed)
        self.codes.data = " ".join(sca.codes or [])
        self.rate_percent.data = (
            "" if sca.rate_percent is None else f"{sca.rate_percent.normalize():f}"
        )
        self.fixed_rates.data = "\n".join(f"{c}={a}" for c, a in (sca.fixed_rates or {}).items())


def apply_errors(form, errors: list[tuple[str, str]]) -> None:
    """Service errors onto fields (`fixed_rates.99213` lands on fixed_rates);
    anything else becomes a form-level error."""
    extra = []
    for name, message in errors:
        field = getattr(form, name.split(".")[0].split("[")[0], None)
        if field is None or not hasattr(field, "errors"):
            extra.append(
                message
                if name in ("case", "offer", "appeal", "communication")
                else f"{name}: {message}"
            )
            continue
        field.errors = [*field.errors, message]
    if extra:
        form.form_errors.extend(extra)


TRANSITION_LABELS = {
    workflow.GATHERING: "Gather evidence",
    workflow.READY: "Ready to negotiate",
    workflow.NEGOTIATING: "Start negotiating",
    workflow.APPEAL: "Appeal",
    workflow.NSA_OPEN: "Open NSA negotiation",
    workflow.NSA_IDR: "Start IDR",
    workflow.SCA: "Pursue an SCA",
    workflow.SETTLED: "Settle",
    workflow.PAID: "Mark paid",
    workflow.CLOSED_WON: "Close as won",
    workflow.CLOSED_PARTIAL: "Close as partly won",
    workflow.CLOSED_LOST: "Close as lost",
    workflow.WITHDRAWN: "Withdraw",
}
