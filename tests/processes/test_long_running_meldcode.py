"""The shipped meldcode diagram survives a long help route: 100 evaluation rounds, each a repeated melding."""
from __future__ import annotations

from sqlalchemy import select

from engine.models import Case
from engine.scenarios import ThrowawayEngine, run_scenario
from tests.conftest import PROJECT

ROUNDS = 100


def test_100_evaluation_rounds_with_repeated_meldingen():
    scenario = {
        "name": "lange hulproute", "process": "meldcode", "autofill": True,
        "start": "2026-03-02T09:00:00+01:00",
        "answers": {
            "levensbedreigend": False, "betreft_beroepskracht": False, "kindcheck_nodig": False,
            "advies_veilig_thuis": False, "gesprek_uitzondering": "geen", "vermoeden": True,
            "acute_onveiligheid": False, "structurele_onveiligheid": False, "hulp_mogelijk": True,
            "meewerken": True, "regie": "wijkteam", "evaluatiedatum": "2026-03-16", "hulp_geweigerd": False, "verhuisd": False, "vt_terugkoppeling_ontvangen": True,
            "duurzame_veiligheid": {"each": [False] * (ROUNDS - 1) + [True]},
        },
        "expect": {"milestones_include": ["hulp_georganiseerd", "herhaalde_melding", "duurzaam_veilig"],
                   "milestones_exclude": ["afgesloten"], "state": "completed"},
    }
    with ThrowawayEngine(PROJECT / "processes") as engine:
        result = run_scenario(engine, scenario)
        assert result.passed, result.error
        assert result.milestones.count("herhaalde_melding") == ROUNDS - 1
        with engine.sessions() as session:
            case = session.scalars(select(Case)).one()
            # Every repeated round after the first re-enters the follow-up loop and is cut from the tree.
            assert case.compactions >= ROUNDS - 2
            assert len(case.state) < 20_000, len(case.state)
