"""Every check on a draft while editing: the engine's deploy checks (safe XML, SpiffWorkflow parse, sandbox of every
expression and script, lanes and forms of user tasks) and bpmnlint's recommended rules."""
from __future__ import annotations

from dataclasses import dataclass

from ..diagrams import compile_files
from ..errors import DiagramError
from ..settings import Settings
from . import lint


@dataclass(frozen=True)
class Problem:
    filename: str
    element_id: str | None
    severity: str  # error | warning
    source: str  # engine | bpmnlint
    message: str


def check_files(files: dict[str, bytes], settings: Settings) -> list[Problem]:
    problems = []
    try:
        compile_files(files, settings.max_diagram_bytes, settings.max_text_length)
    except DiagramError as exc:
        problems.append(Problem(exc.filename, exc.element_id, "error", "engine",
                                f"De engine weigert dit: {exc.reason}"))
    try:
        problems += [Problem(f.filename, f.element_id, f.severity, "bpmnlint", f.message) for f in lint.lint(files)]
    except RuntimeError as exc:
        problems.append(Problem("(bpmnlint)", None, "warning", "bpmnlint", str(exc)))
    return problems
