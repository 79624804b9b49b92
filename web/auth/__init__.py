"""Sign-in, sign-out and the user's own account page (API tokens)."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
