"""The process owners' studio (issue 11): versions, drafts with the bpmn-js modeler, checks, scenarios, compare,
deploy and the migration of running cases. Role procesbeheerder only; every action audited by the engine."""
from flask import Blueprint

bp = Blueprint("studio", __name__, url_prefix="/studio")

from . import views  # noqa: E402, F401 - the views attach to bp
