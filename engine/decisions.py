"""The afwegingskader's outcome as an entry of its own in the case's timeline, with the answers it was based on.

Derived from what the case file already holds (no table of its own): the answers to the afwegingen are the
contract's decision inputs (`vermoeden`, `acute_onveiligheid`, `disclosure`, `structurele_onveiligheid`,
`hulp_mogelijk`, `meewerken`: shared/docs/contract.md) in the completed steps' data, and the outcome is the case
variable `besluit` that the decision table (processes/afwegingskader.dmn) set. The decision was taken right after
the last step that answered an afweging; its answers are the steps' recorded answers (a later correction does
not take the decision again, so it is reported next to it, not folded into it).

Access follows the history handed in: a case file without the afwegingen (Veilig Thuis, the beheerder) has no
decision entry.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The decision table's inputs, in the order of the afwegingen.
INPUTS: tuple[str, ...] = ("vermoeden", "acute_onveiligheid", "disclosure", "structurele_onveiligheid",
                           "hulp_mogelijk", "meewerken")
OUTCOMES: tuple[str, ...] = ("afsluiten", "melden", "hulp", "melden_en_hulp")


@dataclass(frozen=True)
class DecisionEntry:
    besluit: str
    answers: dict[str, bool]  # decision input -> the answer given (only those a person answered)
    at: datetime | None  # when the last afweging was completed (the decision followed at once)
    after_task_id: int  # the step after which the timeline shows the decision
    based_on: list[int] = field(default_factory=list)  # the steps whose answers it used
    corrected: list[str] = field(default_factory=list)  # inputs corrected after the decision


def decision_of(history: Iterable[Mapping[str, Any]], variables: Mapping[str, Any],
                corrected_fields: Mapping[int, Iterable[str]] | None = None) -> DecisionEntry | None:
    """The afwegingskader's decision of a case, or None when it was not (visibly) taken.

    `history`: the completed steps as the case file has them (`task_id`, `completed_at`, `data`), in any order;
    `variables`: the case variables (`besluit`); `corrected_fields`: task id -> fields corrected afterwards."""
    besluit = variables.get("besluit")
    if besluit not in OUTCOMES:
        return None
    steps = sorted((h for h in history if isinstance(h.get("data"), dict)),
                   key=lambda h: (h.get("completed_at") is None, h.get("completed_at") or datetime.min,
                                  h.get("task_id") or 0))
    answers: dict[str, bool] = {}
    based_on: list[int] = []
    last: Mapping[str, Any] | None = None
    for h in steps:
        given = {name: h["data"][name] for name in INPUTS if isinstance(h["data"].get(name), bool)}
        if given:
            answers.update(given)
            based_on.append(int(h["task_id"]))
            last = h
    if last is None:
        return None
    corrected = sorted({name for task_id in based_on for name in (corrected_fields or {}).get(task_id, ())
                        if name in INPUTS})
    return DecisionEntry(str(besluit), {name: answers[name] for name in INPUTS if name in answers},
                         last.get("completed_at"), int(last["task_id"]), based_on, corrected)
