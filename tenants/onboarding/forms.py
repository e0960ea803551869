from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from advocate.forms import choices
from tenants.models import ADMIN, ADVOCATE, OWNER, VIEWER

STAFF_ROLE_PAIRS = [
    (ADVOCATE, "Advocate — works cases"),
    (VIEWER, "Viewer — read only"),
    (ADMIN, "Admin — people, practices, payers, templates"),
    (OWNER, "Owner — everything, including billing"),
]
STAFF_ROLE_CHOICES = choices(STAFF_ROLE_PAIRS)


class SignupForm(FlaskForm):
    firm_name = StringField("Firm name", validators=[DataRequired(), Length(max=200)])
    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        "Work email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=256)],
        description="At least 12 characters; not a commonly used password.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class InviteForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)]
    )
    name = StringField("Name", validators=[Length(max=200)])
    role = SelectField("Role", choices=STAFF_ROLE_CHOICES, default=ADVOCATE)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=STAFF_ROLE_CHOICES)


class AcceptForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        "Choose a password",
        validators=[DataRequired(), Length(max=256)],
        description="At least 12 characters; not a commonly used password.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class ConfirmSignupForm(FlaskForm):
    password = PasswordField(
        "The password you chose",
        validators=[DataRequired(), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )


class JoinForm(FlaskForm):
    """Accept an invitation as the logged-in owner of the invited address."""
