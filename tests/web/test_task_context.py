"""The task page shows what earlier steps recorded that this step needs (x-context in processes/forms), on the
shipped meldcode: Stap 2 shows Stap 1's signals, collapsible, without opening the dossier; audited with the view."""
from __future__ import annotations

from pathlib import Path

import pytest

from .axe import assert_accessible
from .browser_steps import COMPLETE, screenshot, send, sign_in
from .conftest import audit_rows, login, user_of

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
STAP1 = {"signalen": "Leerling had striemen op de rug, gezien bij de gymles op 12 november.",
         "hypothesen": "Ik vermoed dat er thuis geslagen wordt.", "besproken_met": "Mentor",
         "reactie": "Mentor herkent de zorgen", "afspraken": "Morgen consultatie",
         "betreft_beroepskracht": False, "kindcheck_nodig": False}


@pytest.fixture
def stap2(app, services):
    """A shipped-meldcode case of team noord, Stap 1 done by the professional: (case id, Stap 2's task id)."""
    services.cases.deploy_directory(PROCESSES, "tester")
    actor = user_of(services, "professional").actor
    case_id = services.cases.start_case("meldcode", "CL-CONTEXT-1", actor, team=actor.team,
                                        data={"levensbedreigend": False, "aanleiding": "Zorgen na de gymles"})
    for _ in range(3):
        [task, *_] = services.cases.open_tasks(case_id=case_id)
        if task.element_id == "stap2_consultatie":
            return case_id, task.id
        data = STAP1 if task.element_id == "stap1_signalen" else {"aanleiding": "Zorgen na de gymles",
                                                                   "levensbedreigend": False}
        services.cases.complete_task(task.id, actor, data)
    raise AssertionError("Stap 2 did not open")


def test_stap_2_shows_the_signals_of_stap_1_in_a_collapsible_block(app, services, stap2):
    case_id, task_id = stap2
    client = app.test_client()
    login(client, "professional")
    page = client.get(f"/taken/{task_id}").text
    assert '<details class="context-step" data-element-id="stap1_signalen" open>' in page
    assert "Leerling had striemen op de rug" in page and "Signalen (feitelijk)" in page  # the form's words
    assert "Is een kindcheck (of mantelzorgcheck) nodig?</dt><dd>Nee" in page
    assert "Zorgen na de gymles" in page  # the aanleiding from Stap 0
    views = [e for e in audit_rows(services, task_id=task_id, action="task.view")]
    assert len(views) == 1 and views[0].details["context_tasks"]  # one audited view, naming what it showed


def test_the_context_is_not_shown_to_who_may_not_open_the_task(app, services, stap2):
    _, task_id = stap2
    client = app.test_client()
    login(client, "zuid")  # a professional of another team
    response = client.get(f"/taken/{task_id}")
    assert response.status_code == 403 and "striemen" not in response.text


def test_in_the_browser_context_required_fields_a_cleared_radio_and_the_dossier_link(app, services, stap2,
                                                                                     live_server, page,
                                                                                     database_url):
    case_id, task_id = stap2
    sign_in(page, live_server, "professional")
    page.goto(f"{live_server}/taken/{task_id}")
    block = page.locator("details.context-step[data-element-id=stap1_signalen]")
    assert "Leerling had striemen op de rug" in block.inner_text()
    screenshot(page, "taak-context", database_url)
    assert_accessible(page, "taak met eerder vastgelegde antwoorden")
    block.locator("summary").click()  # collapse
    assert not block.evaluate("el => el.open") and not page.is_visible("text=Leerling had striemen op de rug")
    block.locator("summary").click()
    assert block.evaluate("el => el.open")

    # Required inputs carry `required`; an optional radio group can be cleared again.
    assert page.get_attribute("#veld-geraadpleegd", "required") is not None
    assert page.get_attribute("#veld-afwijking_van_advies", "required") is None
    page.check("input[name=politie_contact][value=ja]")
    page.check("input[name=politie_contact][value='']")
    assert not page.is_checked("input[name=politie_contact][value=ja]")
    page.check("input[name=deskundigheid][value=letsel_vertrouwensarts]")
    page.check("input[name=deskundigheid][value=vgv]")  # several kinds of expertise at once

    send(page, {"input[name=geraadpleegd_type][value=aandachtsfunctionaris]": True,
                "#veld-geraadpleegd": "Anna de Vries, aandachtsfunctionaris",
                "#veld-advies": "Gesprek met de ouders voorbereiden.",
                "input[name=advies_veilig_thuis][value=nee]": True}, COMPLETE, "h1:has-text('Inbox')")
    [done] = [h for h in services.cases.case(case_id, user_of(services, "professional").actor).history
              if h["element_id"] == "stap2_consultatie"]
    assert "politie_contact" not in done["data"]
    assert done["data"]["deskundigheid"] == ["letsel_vertrouwensarts", "vgv"]
    page.click(".banner.success a.dossier-link")
    page.wait_for_selector("h1")
    assert page.url.endswith(f"/zaken/{case_id}")
    assert page.problems == [], page.problems
