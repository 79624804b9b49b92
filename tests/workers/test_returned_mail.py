""""Terug bij u" by e-mail: the sweep stores the notification for the responsible professional and the existing mail
path sends it (reference, task, link; no case content)."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import clock, notifications
from workers.context import build_context
from workers.settings import WorkerSettings
from workers.sweep import run_sweep

from .conftest import TEAM, at

PROEF = Path(__file__).resolve().parents[1] / "web" / "diagrams"
STAP1 = {"signalen": "Blauwe plek", "betreft_beroepskracht": False, "zorg": "hoog",
         "datum_signalering": "2026-03-31"}
STAP2 = {"geraadpleegd": "Aandachtsfunctionaris", "advies": "Vertrouwelijk advies", "advies_veilig_thuis": False}


@pytest.fixture
def mail_ctx(deployed, people, smtp_server):
    deployed.deploy_directory(PROEF, "tester")
    settings = WorkerSettings(smtp_url=smtp_server.url, mail_from="meldcode@gemeente.example",
                              base_url="https://meldcode.gemeente.example/", engine=deployed.settings)
    return build_context(settings, deployed)


def _complete(engine, case_id, element_id, person, data, moment):
    task = next(t for t in engine.open_tasks(case_id=case_id) if t.element_id == element_id)
    with clock.frozen_at(at(moment)):
        engine.complete_task(task.id, person.actor, data)


def test_the_responsible_professional_gets_terug_bij_u_by_mail(mail_ctx, deployed, people, smtp_server):
    with clock.frozen_at(at("2026-03-31 09:00")):
        case_id = deployed.start_case("proef", "CL-2026-0077", people["piet"].actor, team=TEAM,
                                      data={"levensbedreigend": False, "aanleiding": "Vertrouwelijk"})
    _complete(deployed, case_id, "stap1", people["piet"], STAP1, "2026-03-31 10:00")
    _complete(deployed, case_id, "stap2", people["anna"], STAP2, "2026-03-31 11:00")
    with clock.frozen_at(at("2026-03-31 11:01")):
        result = run_sweep(mail_ctx)
    returned = [m for to, m in smtp_server.messages if m["Subject"].startswith("Zaak terug bij u")]
    assert len(returned) == 1
    message = returned[0]
    assert message["To"] == "piet@wijkteam.example"
    assert message["Subject"] == "Zaak terug bij u (CL-2026-0077)"
    body = message.get_content()
    assert "De zaak CL-2026-0077 is terug bij u" in body and "Stap 4: wegen" in body
    assert "/taken/" in body
    for secret in ("Vertrouwelijk", "Blauwe plek"):
        assert secret not in message.as_string()
    with mail_ctx.sessions() as session:
        rows = [n for n in notifications.for_case(session, case_id) if n.kind == "returned"]
    assert [(n.recipient, n.status) for n in rows] == [("piet", "sent")]
    assert result.notifications
    # once: a later sweep sends nothing again
    with clock.frozen_at(at("2026-03-31 11:30")):
        run_sweep(mail_ctx)
    assert len([m for _, m in smtp_server.messages if m["Subject"].startswith("Zaak terug bij u")]) == 1
