from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import URL, DataRequired, Email, Length, Optional

from advocate.forms import choices
from advocate.practices.validators import SPECIALTIES


class AssociationForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Enter the association's name."), Length(max=200)]
    )
    specialty = SelectField(
        "Specialty",
        choices=choices([("", "Choose…")] + [(s, s) for s in SPECIALTIES]),
        validators=[DataRequired("Choose the specialty it represents.")],
        description="Practices of this specialty list the association on their page.",
    )
    url = URLField(
        "Website",
        validators=[
            Optional(),
            URL(message="Enter a full web address, e.g. https://www.asahq.org."),
            Length(max=500),
        ],
    )
    contact_name = StringField("Contact name", validators=[Length(max=200)])
    contact_email = EmailField(
        "Contact email", validators=[Optional(), Email(check_deliverability=False), Length(max=254)]
    )
    contact_phone = StringField("Contact phone", validators=[Length(max=40)])
    notes = TextAreaField(
        "Notes",
        validators=[Length(max=5000)],
        render_kw={"rows": 4},
        description="Position papers, advocacy contacts, what they have helped with before.",
    )
