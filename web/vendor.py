"""bpmn-js from node_modules (installed by `npm ci` from package-lock.json; never committed or copied)."""
from __future__ import annotations

from flask import Blueprint, abort, send_from_directory

from .services import services

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

ALLOWED = ("bpmn-navigated-viewer.production.min.js", "bpmn-viewer.production.min.js", "assets/")


@bp.get("/bpmn-js/<path:filename>")
def asset(filename: str):
    if not filename.startswith(ALLOWED):
        abort(404)
    directory = services().settings.node_modules / "bpmn-js" / "dist"
    return send_from_directory(directory, filename, max_age=86400)
