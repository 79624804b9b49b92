"""Roles of the web app: the lanes of the contract, plus process owners and administrators."""
from __future__ import annotations

from engine.contract import LANES

PROCESBEHEERDER = "procesbeheerder"
BEHEERDER = "beheerder"
LOGBEHEERDER = "logbeheerder"  # privacy officer: reads the audit trail, never case files
ROLES: tuple[str, ...] = (*LANES, PROCESBEHEERDER, BEHEERDER, LOGBEHEERDER)

# Need-to-know: who may open a case file of their own team. Process owners edit diagrams and have no
# business in client files; administrators audit instances.
CASE_READ_ROLES = frozenset(LANES) | {BEHEERDER}

ROLE_LABELS = {
    "professional": "Professional",
    "aandachtsfunctionaris": "Aandachtsfunctionaris",
    "leidinggevende": "Leidinggevende",
    "veilig_thuis": "Veilig Thuis",
    PROCESBEHEERDER: "Procesbeheerder",
    BEHEERDER: "Beheerder",
    LOGBEHEERDER: "Logbeheerder",
}
