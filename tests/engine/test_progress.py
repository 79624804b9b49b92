"""The progress indicator: which meldcode step (0–6) a case is in."""
import re
from pathlib import Path

import pytest

from engine.progress import LAST_STEP, Progress, element_step, step_of

BPMN = Path(__file__).resolve().parents[2] / "processes" / "meldcode.bpmn"


@pytest.mark.parametrize(("elements", "step"), [
    (["stap0_inschatting"], 0),
    (["leidinggevende_agressieprotocol", "stap0_direct_handelen"], 0),
    (["stap1_signalen"], 1),
    (["kindcheck_vragen"], 1),
    (["stap1_signalen", "vt_terugkoppeling__crisisdienst"], 1),
    (["stap2_consultatie"], 2),
    (["vt_advies_geven"], 2),
    (["ambtshalve_kennisnemen"], 2),
    (["stap3_gesprek_voeren"], 3),
    (["stap4_afweging1"], 4),
    (["stap4_afweging2"], 4),
    (["stap5_afweging3_4"], 5),
    (["stap5_melden"], 5),
    (["vt_terugkoppeling"], 5),
    (["regie_na_melding"], 5),
    (["stap6_evaluatiemoment"], 6),
    (["vt_terugkoppeling__stap6"], 6),
    (["vt_proactief_contact__nieuwe_regio"], 6),
    (["monitoring_afronden"], 6),
])
def test_open_tasks_decide_the_step(elements, step):
    progress = step_of(elements, [])
    assert progress.step == step
    assert progress.label.startswith(f"Stap {step} van 6 · ")


def test_label_wording():
    assert step_of(["stap3_gesprek_keuze"], []) == Progress(3, "Stap 3 van 6 · Gesprek met de cliënt")
    assert step_of(["stap3_gesprek_keuze"], []).name == "Gesprek met de cliënt"
    assert step_of(["stap3_gesprek_keuze"], []).total == LAST_STEP


def test_without_open_tasks_the_milestones_decide():
    assert step_of([], ["melding_veilig_thuis", "hulp_georganiseerd"]).step == 6
    assert step_of([], ["acute_actie"]).step == 0
    ended = step_of([], ["melding_veilig_thuis", "afgesloten"])
    assert (ended.step, ended.label) == (None, "Afgerond")
    assert step_of([], ["interne_route"]).step is None
    assert step_of([], []).step is None
    assert step_of(["stap1_signalen"], [], ended=True).label == "Afgerond"


def test_every_user_task_of_the_meldcode_has_a_step():
    ids = re.findall(r'<bpmn:userTask id="([^"]+)"', BPMN.read_text(encoding="utf-8"))
    assert len(ids) > 30
    missing = [element for element in ids if element_step(element) is None]
    assert missing == []
