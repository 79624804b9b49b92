"""Sign-in (password, then the TOTP code), sign-out, server-side sessions, the user's own account page
(second factor, open sessions, password, API tokens) and the beheerder's token overview."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
