"""Corrections from the timeline (web/cases/corrections.py, engine/corrections.py): "Correctie toevoegen" on a
completed step, validated against the step's form, shown with the step as an addendum; the step's record stays."""
from __future__ import annotations

from sqlalchemy import select

from .axe import assert_accessible
from .browser_steps import screenshot, send, sign_in
from .conftest import audit_rows, login, open_task, start_case, user_of

STAP1 = {"signalen": "Blauwe plek op de arm.", "betreft_beroepskracht": False, "zorg": "midden",
         "datum_signalering": "2026-02-03"}
ADD = "button:has-text('Correctie toevoegen')"  # sends the correction form


def _completed_stap1(services, client_ref="CL-CORR-1"):
    case_id = start_case(services, client_ref=client_ref)
    task = open_task(services, case_id, "stap1")
    services.cases.complete_task(task.id, user_of(services, "professional").actor, dict(STAP1))
    return case_id, task.id


def _recorded(services, task_id):
    from engine.models import CaseTask, TaskCorrection

    with services.sessions() as session:
        return (session.scalar(select(CaseTask.data).where(CaseTask.id == task_id)),
                session.scalars(select(TaskCorrection.changes).where(TaskCorrection.task_id == task_id)).all())


def test_a_correction_is_added_from_the_timeline_and_shown_with_the_step(app, services, live_server, page,
                                                                         database_url):
    case_id, task_id = _completed_stap1(services)
    sign_in(page, live_server, "professional")
    page.goto(f"{live_server}/zaken/{case_id}")
    step = page.locator(f"#stap-{task_id}")
    step.locator("a:has-text('Correctie toevoegen')").click()
    page.wait_for_selector("h1:has-text('Correctie toevoegen')")
    assert page.input_value("#veld-signalen") == "Blauwe plek op de arm."  # the answers as they stand
    # Nothing changed: refused, nothing stored.
    send(page, {"#veld-reden": "Verkeerd overgenomen."}, ADD, "#probleem:has-text('Er is niets gewijzigd')")
    # Without a reason: refused, what was typed stays.
    send(page, {"#veld-reden": "", "#veld-signalen": "Blauwe plekken op beide armen.",
                "input[name=zorg][value=hoog]": True}, ADD,
         "#veld-reden-fout:has-text('Geef de reden van de correctie.')")
    assert_accessible(page, "correctie met fouten")
    assert page.input_value("#veld-signalen") == "Blauwe plekken op beide armen."
    assert _recorded(services, task_id) == (STAP1, [])
    send(page, {"#veld-reden": "Bij het overnemen van mijn aantekeningen ging het mis: het waren beide armen."}, ADD,
         "text=De correctie op")
    correction = page.locator(f"#stap-{task_id} aside.correction")
    assert correction.count() == 1
    text = correction.inner_text()
    assert "Correctie (aanvulling) door Test professional" in text
    assert "het waren beide armen" in text
    assert "Blauwe plek op de arm." in correction.locator("del").first.inner_text()
    assert "Blauwe plekken op beide armen." in text and "Ernstige zorg" in text and "Zorg" in text
    # The step's own record is still shown as recorded, above the addendum.
    assert "Blauwe plek op de arm." in page.locator(f"#stap-{task_id} > .what > dl.answers").inner_text()
    data, changes = _recorded(services, task_id)
    assert data == STAP1 and changes == [{"signalen": "Blauwe plekken op beide armen.", "zorg": "hoog"}]
    [event] = [e for e in audit_rows(services, action="task.correct") if e.outcome == "success"]
    assert event.actor == "professional" and event.task_id == task_id and event.details["fields"] == ["signalen",
                                                                                                      "zorg"]
    page.locator(f"#stap-{task_id}").scroll_into_view_if_needed()
    assert_accessible(page, "dossier met correctie")
    screenshot(page, "dossier-correctie", database_url)
    assert not page.problems


def test_only_the_steps_lane_may_correct_it(app, services, client):
    case_id, task_id = _completed_stap1(services, "CL-CORR-2")
    url = f"/zaken/{case_id}/stappen/{task_id}/correctie"
    token = login(client, "aandachtsfunctionaris")  # reads the case, does not work in the professional lane
    assert "Correctie toevoegen" not in client.get(f"/zaken/{case_id}").text
    assert client.get(url).status_code == 403
    assert client.post(url, data={"csrf_token": token, "reden": "x", "signalen": "anders"}).status_code == 403
    other = app.test_client()
    other_token = login(other, "zuid")  # another team
    assert other.post(url, data={"csrf_token": other_token, "reden": "x", "signalen": "anders"}).status_code == 403
    assert _recorded(services, task_id) == (STAP1, [])
    # A step of another case under this case's address is refused too.
    second, _ = _completed_stap1(services, "CL-CORR-3")
    own = app.test_client()
    own_token = login(own, "professional")
    assert own.post(f"/zaken/{second}/stappen/{task_id}/correctie",
                    data={"csrf_token": own_token, "reden": "x", "signalen": "anders"}).status_code == 403
    # Bad data for the form: a clear error, nothing stored.
    response = own.post(url, data={"csrf_token": own_token, "reden": "Datum klopte niet.", "signalen": STAP1["signalen"],
                                   "betreft_beroepskracht": "nee", "zorg": "midden", "datum_signalering": "31-02-2026"})
    assert response.status_code == 422 and "Vul een geldige datum in" in response.text
    assert _recorded(services, task_id) == (STAP1, [])
