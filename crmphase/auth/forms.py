"""The sign-in form and the API token form."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    # No format check: a malformed email simply fails to sign in, with the same message
    # as any other failure (and wtforms' Email() needs the email_validator package).
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me signed in")


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("give the token a name"), Length(max=80)])
