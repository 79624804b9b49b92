"""Starting a case and the case file (timeline, milestones, open tasks, diagram)."""
from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/zaken")

from . import events, views  # noqa: E402,F401

# isort: split
from . import attachments, dossier, notes  # noqa: E402,F401 - issue 13: notes, attachments, dossier export

# isort: split
from . import corrections, handover  # noqa: E402,F401 - issue 13: corrections, handover (H2a)

# isort: split
from . import diagram_source  # noqa: E402,F401 - issue 14: the diagram's source at an address of its own
