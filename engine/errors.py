"""Errors raised by the engine's use cases. Each carries a clear, user-facing reason."""
from __future__ import annotations


class EngineError(Exception):
    """Base class: a request the engine refused; nothing was changed."""


class DiagramError(EngineError):
    """A diagram, decision table or form schema cannot be deployed."""

    def __init__(self, filename: str, element_id: str | None, reason: str):
        self.filename = filename
        self.element_id = element_id
        self.reason = reason
        where = filename + (f" [{element_id}]" if element_id else "")
        super().__init__(f"{where}: {reason}")


class ValidationError(EngineError):
    """Form data breaks its schema. `errors` maps field name -> list of reasons.

    `problems` holds the same reasons as (rule, reason) pairs, the rule being the JSON Schema validator that
    failed ("required", "maxLength", "format:date", ...), "text" for a problem of the text itself (already in
    Dutch, engine/text_input.py), or None when unknown: callers word a rule, not the English reason."""

    def __init__(self, errors: dict[str, list[str]], problems: dict[str, list[tuple[str | None, str]]] | None = None):
        self.errors = errors
        self.problems = problems if problems is not None else {
            name: [(None, reason) for reason in reasons] for name, reasons in errors.items()}
        parts = [f"{name}: {'; '.join(reasons)}" for name, reasons in sorted(errors.items())]
        super().__init__("invalid form data: " + " | ".join(parts))


class NotFoundError(EngineError):
    pass


class TaskNotReadyError(EngineError):
    pass


class NotAllowedError(EngineError):
    pass


class CaseNotRunningError(EngineError):
    pass


class ConflictError(EngineError):
    """Someone else changed the case first; reload and try again."""


class CaseFailure(EngineError):
    """The diagram failed while running (e.g. a gateway with no matching condition)."""
