from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class CodeForm(FlaskForm):
    code = StringField(
        "Authentication code",
        validators=[DataRequired(), Length(max=20)],
        description="The 6-digit code from your authenticator app, or a recovery code.",
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True},
    )


class EnrollForm(FlaskForm):
    code = StringField(
        "Code from your app",
        validators=[DataRequired(), Length(min=6, max=6, message="Enter the 6-digit code.")],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=256)],
        description="At least 12 characters; not a commonly used password.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password", validators=[DataRequired()])


class TokenForm(FlaskForm):
    name = StringField(
        "Label",
        validators=[DataRequired(), Length(max=100)],
        description="What will use this token.",
    )


class RecoveryCodesForm(FlaskForm):
    proof = PasswordField(
        "Your password, or a code from your app",
        validators=[
            DataRequired(message="Enter your password or a current code."),
            Length(max=256),
        ],
        render_kw={"autocomplete": "current-password"},
    )
