"""The task page (form from JSON Schema beside the step's instructions), claim and release."""
from flask import Blueprint

bp = Blueprint("tasks", __name__, url_prefix="/taken")

from . import views  # noqa: E402,F401
