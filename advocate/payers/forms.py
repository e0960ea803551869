"""Payer, contact, policy and import forms.

The forms render and carry the CSRF token; the rules live in the services
(shared with the API and the CSV import), whose `FieldErrors` land on these
fields through `apply_errors`.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import Form, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import FieldList, FormField
from wtforms.validators import InputRequired

from advocate.forms import choices
from advocate.payers.defaults import PLAN_TYPES, PRICING_METHODS, SCA_CHOICES
from advocate.payers.services import APPEAL_LEVEL_FIELDS, MAX_APPEAL_LEVELS
from advocate.payers.validation import FieldErrors

PHONE_HELP = "10 digits, e.g. (800) 555-0100; 'ext. 12' for an extension."
DATE_KW = {"type": "date", "placeholder": "YYYY-MM-DD"}
BLANK_APPEAL_ROWS = 4


class PayerForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired("Enter the payer's name.")])
    edi_payer_id = StringField("Payer ID", description="Electronic (EDI) payer ID, e.g. 87726.")
    plan_types = SelectMultipleField(
        "Plan types served",
        choices=choices(PLAN_TYPES.items()),
        description="Hold Ctrl (Cmd on a Mac) to choose several.",
    )
    provider_phone = StringField("Provider services phone", description=PHONE_HELP)
    portal_url = StringField(
        "Portal URL",
        description="e.g. https://provider.example.com",
        render_kw={"inputmode": "url"},
    )
    claims_address = TextAreaField("Claims address", render_kw={"rows": 3})
    claims_fax = StringField("Claims fax", description=PHONE_HELP)
    appeals_address = TextAreaField("Appeals address", render_kw={"rows": 3})
    appeals_fax = StringField("Appeals fax", description=PHONE_HELP)
    appeals_phone = StringField("Appeals phone", description=PHONE_HELP)
    notes = TextAreaField("Notes", render_kw={"rows": 3})

    DATA_FIELDS = (
        "name",
        "edi_payer_id",
        "plan_types",
        "provider_phone",
        "portal_url",
        "claims_address",
        "claims_fax",
        "appeals_address",
        "appeals_fax",
        "appeals_phone",
        "notes",
    )

    def service_data(self) -> dict:
        return {key: self[key].data for key in self.DATA_FIELDS}


class ContactForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired("Enter the contact's name.")])
    role = StringField(
        "Role", description="e.g. Provider relations representative, Appeals supervisor."
    )
    direct_line = StringField("Direct line", description=PHONE_HELP)
    email = StringField("Email", render_kw={"inputmode": "email"})
    notes = TextAreaField("Notes", render_kw={"rows": 3})

    DATA_FIELDS = ("name", "role", "direct_line", "email", "notes")

    def service_data(self) -> dict:
        return {key: self[key].data for key in self.DATA_FIELDS}


class AppealLevelForm(Form):
    name = StringField("Name", render_kw={"list": "appeal-level-names"})
    window_days = StringField("Window (days)", render_kw={"inputmode": "numeric"})
    submit_to_address = TextAreaField("Send to address", render_kw={"rows": 2})
    submit_to_fax = StringField("Send to fax")
    submit_to_portal_url = StringField("Send through portal", render_kw={"inputmode": "url"})


class PolicyForm(FlaskForm):
    plan_type = SelectField("Plan type", choices=choices(PLAN_TYPES.items()))
    effective_date = StringField(
        "Effective date",
        validators=[InputRequired("Enter the date this version takes effect.")],
        render_kw=DATE_KW,
        description="The first day this version applies.",
    )
    end_date = StringField(
        "End date",
        render_kw=DATE_KW,
        description="Only if the payer withdrew it: the first day it no longer applies. "
        "A newer version ends it anyway.",
    )
    pricing_method = SelectField(
        "Pricing methodology", choices=choices(PRICING_METHODS.items()), default="unknown"
    )
    pricing_percent = StringField(
        "Percent",
        render_kw={"inputmode": "decimal"},
        description="For percent-based methods, e.g. 140 for 140% of Medicare "
        "(0 to 1000), 80 for 80% of a percentile or of billed (0 to 100).",
    )
    commercial_percentile = StringField(
        "Percentile",
        render_kw={"inputmode": "numeric"},
        description="For a commercial percentile, e.g. 80 for the 80th.",
    )
    benchmark_name = StringField(
        "Benchmark", description="For a commercial percentile, e.g. FAIR Health."
    )
    timely_filing_days = StringField(
        "Timely-filing limit (days)",
        render_kw={"inputmode": "numeric"},
        validators=[InputRequired("Enter the timely-filing limit in days.")],
    )
    appeal_levels = FieldList(
        FormField(AppealLevelForm), min_entries=BLANK_APPEAL_ROWS, max_entries=MAX_APPEAL_LEVELS
    )
    is_sca_available = SelectField(
        "Grants single case agreements", choices=choices(SCA_CHOICES.items()), default="unknown"
    )
    sca_how_to_request = TextAreaField(
        "How to ask for a single case agreement", render_kw={"rows": 3}
    )
    nsa_notes = TextAreaField("No Surprises Act notes", render_kw={"rows": 3})
    limitations = TextAreaField("Limitations and restrictions", render_kw={"rows": 4})
    source_document = StringField(
        "Document", description="Title of the policy document, bulletin or letter."
    )
    source_url = StringField("Web page", render_kw={"inputmode": "url"})
    source_rep_name = StringField("Representative who said it")
    source_rep_date = StringField("Date they said it", render_kw=DATE_KW)
    source_reference = StringField("Call reference number")

    SCALAR_FIELDS = (
        "plan_type",
        "effective_date",
        "end_date",
        "pricing_method",
        "pricing_percent",
        "commercial_percentile",
        "benchmark_name",
        "timely_filing_days",
        "is_sca_available",
        "sca_how_to_request",
        "nsa_notes",
        "limitations",
        "source_document",
        "source_url",
        "source_rep_name",
        "source_rep_date",
        "source_reference",
    )

    def service_data(self) -> tuple[dict, list[int]]:
        """The data for the service, and for each appeal level it gets, the
        form row it came from (blank rows are skipped)."""
        data = {key: self[key].data for key in self.SCALAR_FIELDS}
        rows, index = [], []
        for i, entry in enumerate(self.appeal_levels.entries):
            values = {key: entry.form[key].data for key in APPEAL_LEVEL_FIELDS}
            if any((v or "").strip() for v in values.values()):
                rows.append(values)
                index.append(i)
        data["appeal_levels"] = rows
        self._level_rows = index
        return data, index

    def ensure_blank_rows(self) -> None:
        """Room for one more level than the policy has, at least four rows."""
        filled = sum(
            1
            for e in self.appeal_levels.entries
            if any((e.form[k].data or "").strip() for k in APPEAL_LEVEL_FIELDS)
        )
        while len(self.appeal_levels) < min(MAX_APPEAL_LEVELS, max(BLANK_APPEAL_ROWS, filled + 1)):
            self.appeal_levels.append_entry()


def policy_form_values(data: dict) -> dict:
    """Service-side values (dates, Decimals, booleans) as form text."""

    def text(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, Decimal):
            return f"{v.normalize():f}"
        return str(v)

    out = {k: text(v) for k, v in data.items() if k != "appeal_levels"}
    if data.get("is_sca_available") is None:
        out["is_sca_available"] = "unknown"
    out["appeal_levels"] = [
        {k: text(lv.get(k)) for k in APPEAL_LEVEL_FIELDS} for lv in data.get("appeal_levels") or []
    ]
    return out


class ImportForm(FlaskForm):
    file = FileField(
        "CSV file", description="UTF-8 CSV (a spreadsheet's 'CSV UTF-8' export), up to 2 MB."
    )


class ConfirmImportForm(FlaskForm):
    token = HiddenField()


_LEVEL_FIELD_RE = re.compile(r"^appeal_levels\[(\d+)\]\.(\w+)$")


def apply_errors(form: FlaskForm, err: FieldErrors, level_rows: list[int] | None = None) -> None:
    """Put service errors on the form's fields (the form's own required-field
    messages are worded like the services', so a repeat is dropped)."""
    for field_name, message in err.errors:
        target = None
        m = _LEVEL_FIELD_RE.match(field_name)
        if m and level_rows is not None and hasattr(form, "appeal_levels"):
            pos, sub = int(m.group(1)), m.group(2)
            if pos < len(level_rows) and sub in APPEAL_LEVEL_FIELDS:
                target = form.appeal_levels.entries[level_rows[pos]].form[sub]
        elif field_name in form._fields:
            target = form[field_name]
        if target is None:
            form.form_errors.append(message)
        elif message not in target.errors:
            target.errors = [*target.errors, message]


def has_errors(form: FlaskForm) -> bool:
    if form.form_errors:
        return True
    return any(_field_has_errors(f) for f in form)


def _field_has_errors(field) -> bool:
    if isinstance(field, FieldList):
        return any(_field_has_errors(e) for e in field.entries)
    if isinstance(field, FormField):
        return any(_field_has_errors(f) for f in field.form)
    return bool(field.errors)
