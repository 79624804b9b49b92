from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField("Gebruikersnaam", validators=[DataRequired("Vul uw gebruikersnaam in."),
                                                         Length(max=100)])
    password = PasswordField("Wachtwoord", validators=[DataRequired("Vul uw wachtwoord in."), Length(max=1000)])
    next = HiddenField()


class TokenForm(FlaskForm):
    label = StringField("Omschrijving", validators=[DataRequired("Geef het token een omschrijving."),
                                                    Length(max=100)])


class EmptyForm(FlaskForm):
    """Only the CSRF token (sign-out, revoke, claim)."""
