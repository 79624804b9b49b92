"""The inbox: the open tasks of my lanes in my team, most urgent first."""
from flask import Blueprint

bp = Blueprint("inbox", __name__)

from . import views  # noqa: E402, F401 - the views attach to bp
