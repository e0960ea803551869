"""Forms of the rates pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

#: Common places of service (CMS POS code set), offered in a datalist; any other
#: 2-digit code can be typed.
COMMON_POS = [
    ("11", "11 Office"),
    ("22", "22 On-campus outpatient hospital (facility)"),
    ("19", "19 Off-campus outpatient hospital (facility)"),
    ("21", "21 Inpatient hospital (facility)"),
    ("23", "23 Emergency room, hospital (facility)"),
    ("24", "24 Ambulatory surgical center (facility)"),
    ("31", "31 Skilled nursing facility (facility)"),
    ("12", "12 Home"),
    ("10", "10 Telehealth in the patient's home"),
    ("02", "02 Telehealth, not in the patient's home"),
    ("81", "81 Independent laboratory"),
]


class MedicareLookupForm(FlaskForm):
    """A GET form: reads nothing private, changes nothing."""

    class Meta:
        csrf = False

    year = SelectField("Year", validate_choice=False)
    code = StringField(
        "CPT/HCPCS code", validators=[Length(max=10)], render_kw={"autocomplete": "off"}
    )
    modifier = StringField(
        "Modifier",
        validators=[Optional(), Length(max=4)],
        description="Optional: 26, TC, 53 have their own rows; 50, 62, 66, 80, 81, 82, AS "
        "apply Medicare's payment percentages.",
    )
    zip = StringField(
        "ZIP code",
        validators=[Length(max=10)],
        description="Or give a Medicare locality instead.",
    )
    locality = StringField(
        "Medicare locality",
        validators=[Optional(), Length(max=10)],
        description="Carrier and locality number, e.g. 13202-01 (instead of a ZIP).",
    )
    pos = StringField(
        "Place of service",
        default="11",
        validators=[Length(max=4)],
        description="2-digit CMS code: 11 office; facility rates for 19, 21, 22, 23, 24, 26, "
        "31, 34, 41, 42, 51, 52, 53, 56, 61.",
        render_kw={"list": "pos-codes", "inputmode": "numeric", "autocomplete": "off"},
    )


class PercentileUploadForm(FlaskForm):
    file = FileField("Percentile CSV", validators=[FileRequired("Choose a CSV file.")])


class ConfirmForm(FlaskForm):
    """CSRF only: the confirm and discard buttons."""


class PercentileSearchForm(FlaskForm):
    class Meta:
        csrf = False

    year = StringField("Year", validators=[Optional(), Length(max=4)])
    code = StringField("Code", validators=[Optional(), Length(max=5)])
    modifier = StringField("Modifier", validators=[Optional(), Length(max=2)])
    zip3 = StringField("ZIP area", validators=[Optional(), Length(max=5)])
