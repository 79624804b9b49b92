"""The beheerder's process-instance console (metadata only, never case content) and the administrators' own
monitoring: /healthz, /readyz and Prometheus /metrics."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import monitoring, views  # noqa: E402,F401
