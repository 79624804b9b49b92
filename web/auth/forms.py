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


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Vul de code in."), Length(max=40)])


class PasswordForm(FlaskForm):
    current = PasswordField("Huidig wachtwoord", validators=[DataRequired("Vul uw huidige wachtwoord in."),
                                                             Length(max=1000)])
    new = PasswordField("Nieuw wachtwoord", validators=[DataRequired("Vul een nieuw wachtwoord in."),
                                                        Length(min=10, max=1000, message="Minstens 10 tekens.")])


class EmptyForm(FlaskForm):
    """Only the CSRF token (sign-out, revoke, claim)."""
