"""JSON API under /api/: the same cases and tasks, the same need-to-know rules, session or bearer token."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import views  # noqa: E402,F401
