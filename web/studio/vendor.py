"""The modeler's front-end files from node_modules (installed by `npm ci`; never committed or copied)."""
from __future__ import annotations

from flask import abort, send_from_directory

from ..services import services

# package -> (folder inside the package, allowed file name prefixes)
ALLOWED = {
    "bpmn-js": ("dist", ("bpmn-modeler.production.min.js", "bpmn-navigated-viewer.production.min.js", "assets/")),
    "dmn-js": ("dist", ("dmn-modeler.production.min.js", "assets/")),
}


def asset(package: str, filename: str):
    allowed = ALLOWED.get(package)
    if allowed is None or not filename.startswith(allowed[1]) or ".." in filename.split("/"):
        abort(404)
    return send_from_directory(services().settings.node_modules / package / allowed[0], filename, max_age=86400)
