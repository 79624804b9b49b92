"""Which step of the meldcode (Stap 0–6) a case is in, for the progress indicator of the inbox, the case list and
the case header.

Decided from the element ids of the case's open tasks (and, when nothing is open, the waiting timers the caller
passes along) and from the milestones reached. The rule follows the element ids of `processes/meldcode.bpmn`
and the route of `shared/docs/meldcode.md`:

- an id that starts with `stapN_` is in Stap N (a process owner who redraws the route keeps this naming);
- the Veilig Thuis advice and ambtshalve tasks belong to Stap 2 (consultation of Veilig Thuis), the kindcheck
  and the internal route to Stap 1, the agressieprotocol to Stap 0;
- the Veilig Thuis feedback after a melding belongs to the step of that melding: after the crisisdienst
  (`__crisisdienst`) Stap 0, after Stap 5 Stap 5, after a melding in the follow-up Stap 6;
- with several open tasks the furthest step wins (a Stap 0 feedback task stays open next to Stap 1);
- with no open task the milestones say where the case stands (waiting for an evaluation date: Stap 6).

Pure functions: no database, no SpiffWorkflow.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

LAST_STEP = 6

STEP_NAMES: dict[int, str] = {
    0: "Acuut gevaar",
    1: "Signalen in kaart brengen",
    2: "Collegiale consultatie en advies",
    3: "Gesprek met de cliënt",
    4: "Wegen",
    5: "Beslissen: melden en/of hulp",
    6: "Opvolging",
}

ENDED_LABEL = "Afgerond"
NOT_STARTED_LABEL = "Geen stap"
INTERNAL_ROUTE_LABEL = "Interne route (geen meldcode)"

_STEP_PREFIX = re.compile(r"^stap([0-6])(?:_|$)")

# Element ids (suffix after `__` dropped) outside the `stapN_` naming.
ELEMENT_STEPS: dict[str, int] = {
    "leidinggevende_agressieprotocol": 0,
    "acute_actie": 0,
    "kindcheck": 1,
    "kindcheck_vragen": 1,
    "kindcheck_gesprek_kinderen": 1,
    "kindcheck_overige_naasten": 1,
    "kindcheck_geruststellend": 1,
    "interne_route_afhandelen": 1,
    "vt_advies_geven": 2,
    "vt_ambtshalve_afwegen": 2,
    "ambtshalve_bespreken": 2,
    "vt_mdo_ambtshalve": 2,
    "ambtshalve_kennisnemen": 2,
    "afsluiten_vastleggen": 5,
    "regie_na_melding": 5,
    "vt_terugkoppeling": 5,
    "vt_proactief_contact": 5,
    "tmr_vt_terugkoppeling": 5,
    "monitoring_afspreken": 6,
    "monitoring_afronden": 6,
    "vt_overdracht_nieuwe_regio": 6,
    "tmr_evaluatiemoment": 6,
    "tmr_einde_monitoring": 6,
}

# A `__suffix` that moves an element to the step it follows from.
SUFFIX_STEPS: dict[str, int] = {"crisisdienst": 0, "stap6": 6, "nieuwe_regio": 6, "herhaald": 6,
                                 "hulp_geweigerd": 6}

# Milestones after which, with no open task, the case is being followed (Stap 6: waiting for an evaluation).
_FOLLOW_UP_MILESTONES = frozenset({"melding_veilig_thuis", "hulp_georganiseerd", "herhaalde_melding",
                                   "duurzaam_veilig", "vt_terugkoppeling_te_laat", "ambtshalve_melding"})
# Milestones that end the route.
_END_MILESTONES = frozenset({"afgesloten", "warme_overdracht", "overdracht_door_veilig_thuis",
                             "melding_nieuwe_regio"})


@dataclass(frozen=True)
class Progress:
    """Where a case stands: `step` 0–6 (None: no meldcode step, e.g. ended or the internal route) and a Dutch
    label for people and screen readers ("Stap 3 van 6 · Gesprek met de cliënt")."""

    step: int | None
    label: str

    @property
    def name(self) -> str:
        """The step's short name without the "Stap n van 6" part (or the whole label when there is no step)."""
        return STEP_NAMES[self.step] if self.step is not None else self.label

    @property
    def total(self) -> int:
        return LAST_STEP


def label_of(step: int) -> str:
    """'Stap 3 van 6 · Gesprek met de cliënt'."""
    return f"Stap {step} van {LAST_STEP} · {STEP_NAMES[step]}"


def element_step(element_id: str) -> int | None:
    """The meldcode step an element (task or timer) belongs to, or None when the id says nothing about it."""
    base, _, suffix = element_id.partition("__")
    if suffix:
        for name, step in SUFFIX_STEPS.items():
            if suffix == name or suffix.startswith(name + "_"):
                return step
    found = _STEP_PREFIX.match(base)
    if found:
        return int(found.group(1))
    return ELEMENT_STEPS.get(base)


def step_of(element_ids: Iterable[str], milestones: Iterable[str], *, ended: bool = False) -> Progress:
    """The step of a case from its open tasks' element ids and its milestones (names, in order reached).

    `ended`: the case is completed or terminated (then no step, whatever is still listed).
    """
    if ended:
        return Progress(None, ENDED_LABEL)
    steps = [step for step in (element_step(e) for e in element_ids if e) if step is not None]
    if steps:
        return _progress(max(steps))
    reached = [m.split("__", 1)[0] for m in milestones if m]
    if "interne_route" in reached:
        return Progress(None, INTERNAL_ROUTE_LABEL)
    if reached and reached[-1] in _END_MILESTONES:
        return Progress(None, ENDED_LABEL)
    if any(m in _FOLLOW_UP_MILESTONES for m in reached):
        return _progress(LAST_STEP)
    if "kindcheck_zorgen" in reached:
        return _progress(1)
    if "acute_actie" in reached:
        return _progress(0)
    return Progress(None, NOT_STARTED_LABEL)


def _progress(step: int) -> Progress:
    return Progress(step, label_of(step))
