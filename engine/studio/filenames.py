"""Which file names a deployment, a draft or a zip may hold: flat BPMN/DMN files and forms/<name>.json."""
from __future__ import annotations

import re

from ..errors import DiagramError

_DIAGRAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.(bpmn|dmn)$")
_FORM = re.compile(r"^forms/[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.json$")
_SCENARIO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.json$")


def check_filename(name: object, *, scenario: bool = False) -> str:
    pattern = _SCENARIO if scenario else None
    if not isinstance(name, str) or ".." in name or not (
            (pattern and pattern.match(name)) or (not scenario and (_DIAGRAM.match(name) or _FORM.match(name)))):
        what = "a scenario file name (name.json)" if scenario else \
            "a file name of a deployment (name.bpmn, name.dmn or forms/name.json)"
        raise DiagramError(str(name)[:120], None, f"not {what}")
    return name
