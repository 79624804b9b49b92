"""The inbox (issue 13): the responsible professional and the progress per row, a "Meldingen" area that shows when a
case comes back to me ("terug bij u") and when a deadline nears ("termijn nadert"), and a card layout at 390 px that
keeps the column names for screen readers."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import clock, notifications

from .conftest import STAP1_ANSWERS, csrf_from, login, open_task, start_case, user_of

STAP2_ANSWERS = {"geraadpleegd": "Aandachtsfunctionaris", "advies": "Gesprek voeren", "advies_veilig_thuis": False}


def _to_stap2(services, client_ref: str = "CL-TERUG") -> int:
    case_id = start_case(services, client_ref=client_ref)
    task = open_task(services, case_id, "stap1")
    data = {**STAP1_ANSWERS, "betreft_beroepskracht": False, "besproken_met": ["Mentor"]}
    services.cases.complete_task(task.id, user_of(services, "professional").actor, data)
    return case_id


def _complete_stap2(services, case_id: int) -> None:
    task = open_task(services, case_id, "stap2")
    services.cases.complete_task(task.id, user_of(services, "aandachtsfunctionaris").actor, STAP2_ANSWERS)


def test_inbox_rows_show_responsible_and_progress(app, services, client):
    case_id = _to_stap2(services)
    login(client, "aandachtsfunctionaris")
    page = client.get("/").text
    assert f'href="/zaken/{case_id}"' in page
    assert '<td role="cell" data-label="Verantwoordelijke">Test professional</td>' in page
    assert "Stap 2 van 6 · Collegiale consultatie en advies" in page
    assert '<th scope="col" role="columnheader">Verantwoordelijke</th>' in page
    assert 'href="/zaken?verantwoordelijke=mij"' in page  # Mijn zaken


def test_terug_bij_u_after_the_aandachtsfunctionaris_completes_stap_2(app, services, client):
    case_id = _to_stap2(services)
    login(client, "professional")
    assert "Terug bij u" not in client.get("/").text
    _complete_stap2(services, case_id)
    page = client.get("/").text
    assert "Terug bij u:</strong> De zaak CL-TERUG is terug bij u: de taak &#39;Stap 4: wegen&#39; staat voor u klaar." \
        in page
    stap4 = open_task(services, case_id, "stap4")
    assert f'href="/taken/{stap4.id}">Open de taak' in page
    # Once the sweep stored it, the stored row is shown and can be marked read
    with services.sessions.begin() as session:
        [created] = notifications.create(session, [notifications.NewNotification(
            case_id, stap4.id, notifications.RETURNED, "professional")], clock.now(), mail=False)
    page = client.get("/").text
    assert page.count("Terug bij u:</strong>") == 1
    token = csrf_from(page)
    client.post(f"/meldingen/{created}/gelezen", data={"csrf_token": token})
    assert "De zaak CL-TERUG is terug bij u" not in client.get("/").text
    # Not for someone else of the team
    other = app.test_client()
    login(other, "aandachtsfunctionaris")
    assert "terug bij u" not in other.get("/").text


def test_termijn_nadert_is_shown_with_its_title(app, services, client):
    from workers.context import build_context
    from workers.reminding import create_due_notifications
    from workers.settings import WorkerSettings

    case_id = start_case(services, client_ref="CL-TERMIJN")
    due = open_task(services, case_id, "stap1").due_at
    ctx = build_context(WorkerSettings(engine=services.engine_settings), services.cases)
    create_due_notifications(ctx, due - timedelta(hours=2))  # within a working day of the deadline
    login(client, "professional")
    page = client.get("/").text
    assert "Termijn nadert:</strong> De taak &#39;Stap 1: signalen in kaart brengen&#39; voor CL-TERMIJN" in page
    with services.sessions() as session:
        from engine.models import Notification  # noqa: PLC0415 - test inspection of the stored row

        assert session.scalar(select(Notification.kind).where(Notification.case_id == case_id)) == "reminder_before"


# -- in the browser ------------------------------------------------------------------------------------------------

def test_the_inbox_shows_terug_bij_u_in_the_browser(app, services, live_server, page, database_url):
    from .axe import assert_accessible
    from .browser_steps import COMPLETE, screenshot, send, sign_in, sign_out
    from .test_browser import _name_team

    _name_team(services, "noord", "Wijkteam Noord")
    case_id = _to_stap2(services, "CL-2026-042")
    start_case(services, client_ref="CL-2026-043")

    # The aandachtsfunctionaris completes Stap 2 (collegiale consultatie) in the browser
    sign_in(page, live_server, "aandachtsfunctionaris")
    row = page.locator("table.inbox tbody tr", has_text="CL-2026-042")
    assert "Test professional" in row.inner_text() and "Stap 2" in row.inner_text()
    row.locator("a.task-link").click()
    page.wait_for_selector("h1:has-text('Stap 2')")
    send(page, {"#veld-geraadpleegd": "Aandachtsfunctionaris", "#veld-advies": "Gesprek met de ouders voeren.",
                "input[name=advies_veilig_thuis][value=nee]": True}, COMPLETE, ".banner.success")
    sign_out(page)

    # The responsible professional sees it in the inbox's Meldingen
    sign_in(page, live_server, "professional")
    melding = page.locator("#meldingen .notification-returned")
    assert melding.count() == 1
    assert "Terug bij u" in melding.inner_text() and "CL-2026-042" in melding.inner_text()
    assert page.locator("#meldingen-kop").is_visible()
    row = page.locator("table.inbox tbody tr", has_text="CL-2026-042")
    assert "Stap 4" in row.inner_text()
    assert row.locator(".progress .visually-hidden").inner_text() == "Stap 4 van 6 · Wegen"
    screenshot(page, "inbox", database_url)
    assert_accessible(page, "inbox met meldingen")
    melding.locator("a:has-text('Open de taak')").click()
    page.wait_for_selector("h1:has-text('Stap 4: wegen')")
    assert f"/zaken/{case_id}" in page.content()

    # At 390 px: cards without sideways scrolling; the column names stay for screen readers
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/")
    page.wait_for_selector("table.inbox")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for name in ("Stap", "Cliënt", "Voortgang", "Termijn", "Rol", "Verantwoordelijke", "Opgepakt door"):
        assert page.get_by_role("columnheader", name=name).count() == 1, name
    assert page.eval_on_selector("table.inbox thead", "el => getComputedStyle(el).display") != "none"
    label = page.eval_on_selector("table.inbox tbody td[data-label=Termijn]",
                                  "el => getComputedStyle(el, '::before').content")
    assert "Termijn" in label
    screenshot(page, "inbox-mobiel", database_url)
    assert_accessible(page, "inbox (390 px)")
    assert page.problems == [], page.problems
