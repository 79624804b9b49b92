"""Starting a case and the case file (timeline, milestones, open tasks, diagram)."""
from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/zaken")

from . import events, views  # noqa: E402,F401
