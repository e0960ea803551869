"""Forms of the import pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FileField, HiddenField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from advocate.forms import choices


class RemittanceUploadForm(FlaskForm):
    file = FileField(
        "835 file",
        description="An X12 835 (5010) remittance advice file, as your clearinghouse or payer sends it.",
    )


class ClaimsUploadForm(FlaskForm):
    file = FileField(
        "Claims CSV",
        description="UTF-8 CSV (a spreadsheet's 'CSV UTF-8' export), one row per service line.",
    )


class ConfirmForm(FlaskForm):
    token = HiddenField()


class SettingsForm(FlaskForm):
    co45_threshold = StringField(
        "CO-45 threshold",
        validators=[InputRequired("Enter an amount."), Length(max=20)],
        description="An 835 claim with no case becomes a new case at intake when its CO-45 "
        "(out-of-network price cut) total is above this amount; otherwise it goes to the "
        "unmatched list.",
    )


class UnmatchedCaseForm(FlaskForm):
    practice_id = SelectField("Practice", validators=[InputRequired("Choose the practice.")])
    payer_id = SelectField("Payer", validators=[InputRequired("Choose the payer.")])
    plan_type = SelectField("Plan type", validators=[InputRequired("Choose a plan type.")])

    def set_choices(self, practices, payers, plan_types) -> None:
        self.practice_id.choices = choices(
            [("", "Choose…")] + [(str(p.id), f"{p.name} ({p.npi})") for p in practices]
        )
        self.payer_id.choices = choices([("", "Choose…")] + [(str(p.id), p.name) for p in payers])
        self.plan_type.choices = choices(list(plan_types.items()))


class FixForm(FlaskForm):
    """The fix in place on the unmatched list: add the claim's payer ID, NPI or TIN
    to one of the firm's payers or practices (the identifier comes from the claim)."""

    kind = HiddenField()
    # A <select> of the firm's payers or practices on the page; the service checks the
    # id against the firm's own rows (another firm's id is "choose the payer").
    target_id = StringField("Belongs to")


class ActionForm(FlaskForm):
    """A button that posts (dismiss, delete): CSRF only."""


class AliasForm(FlaskForm):
    header = StringField(
        "Column name in your files",
        validators=[InputRequired("Enter the column name."), Length(max=200)],
    )
    column = SelectField("Means", validators=[InputRequired("Choose the column it means.")])
