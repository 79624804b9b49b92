"""Dashboards for the aandachtsfunctionaris and the leidinggevende: counts over their own team's cases as charts
(server-side SVG), tables and CSV (engine/dashboards.py gathers and audits them)."""
from flask import Blueprint

bp = Blueprint("dashboards", __name__)

from . import views  # noqa: E402,F401
