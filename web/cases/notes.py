"""Notes (aantekeningen) on the case file: the panel's data and writing a note (engine/notes.py decides).

The panel (templates/cases/_notes.html, included by the case file) gets its notes from the template global
`notes_of_case`, so the case file's view needs no change; it is shown only with full access to the case.
"""
from __future__ import annotations

from functools import partial

from flask import render_template, request
from flask_login import current_user, login_required

from engine import notes
from engine.states import HypothesisOutcome, NoteKind

from ..services import services
from . import additions, bp

KIND_LABELS = {NoteKind.AANTEKENING: "Aantekening", NoteKind.HYPOTHESE: "Vervolg op een hypothese"}
OUTCOME_LABELS = {HypothesisOutcome.BEVESTIGD: "bevestigd", HypothesisOutcome.WEERLEGD: "weerlegd"}
# The form's field names (Dutch, as the page shows them) for the engine's fields.
FORM_FIELDS = {"text": "tekst", "kind": "soort", "outcome": "uitkomst"}


@bp.app_template_global("notes_of_case")
def notes_of_case(case_id: int) -> list[notes.NoteView] | None:
    """The case's notes for the signed-in user; None when the user does not see notes (not full access)."""
    return additions.panel(case_id, notes.case_notes)


@bp.app_template_global("note_choices")
def note_choices() -> dict[str, dict[NoteKind, str] | dict[HypothesisOutcome, str]]:
    return {"kinds": KIND_LABELS, "outcomes": OUTCOME_LABELS}


@bp.app_template_global("note_kind_label")
def note_kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)  # type: ignore[call-overload]


@bp.app_template_global("hypothesis_outcome_label")
def hypothesis_outcome_label(outcome: str | None) -> str:
    return OUTCOME_LABELS.get(outcome, outcome or "")  # type: ignore[call-overload]


@bp.post("/<int:case_id>/aantekeningen")
@login_required
def add_note(case_id: int):
    additions.require_full_access(case_id, "case.note", "notes")
    values = {name: request.form.get(name, "") for name in FORM_FIELDS.values()}
    if values["soort"] != NoteKind.HYPOTHESE:
        values["uitkomst"] = ""  # the outcome belongs to a hypothesis only; a hidden choice is not an error
    return additions.add(
        case_id, lambda: notes.add_note(services().sessions, current_user.actor, case_id, values["tekst"],
                                        kind=values["soort"] or NoteKind.AANTEKENING,
                                        outcome=values["uitkomst"] or None,
                                        max_length=services().engine_settings.max_text_length),
        partial(_form, case_id, values), fields=FORM_FIELDS, done="Uw aantekening is toegevoegd aan het dossier.",
        closed="Deze zaak is afgesloten: er kunnen geen aantekeningen meer bij. Er is niets opgeslagen.",
        anchor="#aantekeningen")


def _form(case_id: int, values: dict[str, str], errors: dict[str, list[str]], status: int,
          problem: str | None = None):
    """The note form again, with what was typed and what is wrong (nothing was saved)."""
    return render_template("cases/note.html", case_id=case_id, values=values, errors=errors, problem=problem,
                           kinds=KIND_LABELS, outcomes=OUTCOME_LABELS), status
