"""Break-the-glass (noodtoegang): ask time-limited access to a case with a reason; the aandachtsfunctionaris
reviews the grants on the team's cases (engine/glass.py)."""
from flask import Blueprint

bp = Blueprint("glass", __name__, url_prefix="/noodtoegang")

from . import views  # noqa: E402, F401 - the views attach to bp
