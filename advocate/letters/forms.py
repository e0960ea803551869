"""Forms of the letters pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from advocate.forms import choices
from advocate.letters.types import type_choices


class CopyTemplateForm(FlaskForm):
    letter_type = SelectField("Letter type", validators=[Optional()])
    source_template_id = HiddenField()
    name = StringField("Name of the firm's template", validators=[DataRequired(), Length(max=120)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.letter_type.choices = choices([("", "Choose…"), *type_choices()])


class EditTemplateForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    subject = StringField("Subject line", validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(
        "Body",
        validators=[DataRequired()],
        description="Jinja: {{ field.name }} for a merge field, {% for l in lines %}…{% endfor %} for "
        "the service lines, and {{ claim_table }} on a line of its own where the claim table goes. "
        "Blank lines separate paragraphs.",
        render_kw={"rows": 22, "spellcheck": "true"},
    )
    note = StringField("What changed (optional)", validators=[Optional(), Length(max=300)])


class PreviewForm(FlaskForm):
    letter_type = HiddenField(validators=[DataRequired()])
    subject = HiddenField()
    body = HiddenField()
    case = StringField(
        "Preview with case",
        validators=[DataRequired(), Length(max=20)],
        description="A case number such as C-000123",
        render_kw={"placeholder": "C-000123"},
    )
