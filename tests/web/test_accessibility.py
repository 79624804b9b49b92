"""axe-core (WCAG 2.1 A/AA and best practices) on every page state of every role, at desktop width and at 390 px
(a phone). Each test walks one role's pages and reports every violation it met, page by page, at the end.

Page states: sign-in; inbox with and without tasks; Zaken; new case; a task page showing a validation error;
case file; case event form; account; the 403 page; beheer (instance list and one instance); audit log; studio
(index and a draft); break-the-glass request and review; the team dashboard.
"""
from __future__ import annotations

import pytest

from engine import glass

from .axe import describe, violations
from .conftest import open_task, start_case, user_of
from .test_browser import sign_in

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "390 px": {"width": 390, "height": 844}}
STAP1 = {"signalen": "Blauwe plek.", "betreft_beroepskracht": False, "zorg": "laag", "datum_signalering": "2026-01-05"}
STAP2 = {"geraadpleegd": "Collega", "advies": "Gesprek voeren", "advies_veilig_thuis": False}
STAP4 = {"vermoeden": True, "toelichting": "Vermoeden blijft"}


class Axe:
    """Runs axe on the page as it is, at every width, and keeps what it finds."""

    def __init__(self, page):
        self.page = page
        self.found: dict[str, list[dict]] = {}
        self.checked: list[str] = []

    def check(self, name: str) -> None:
        for label, size in WIDTHS.items():
            self.page.set_viewport_size(size)
            found = violations(self.page)
            self.checked.append(f"{name} @ {label}")
            if found:
                self.found[f"{name} @ {label}"] = found
        self.page.set_viewport_size(WIDTHS["desktop"])

    def assert_clean(self) -> None:
        report = "\n".join(f"{state}:\n{describe(found)}" for state, found in self.found.items())
        assert not self.found, (f"axe-core found violations on {len(self.found)} of {len(self.checked)} page "
                                f"states:\n{report}")


@pytest.fixture
def axe(page):
    return Axe(page)


def _follow_up_case(services) -> int:
    """A case of team noord waiting for Veilig Thuis' feedback: case events can be raised on it."""
    case_id = start_case(services, client_ref="CL-OPVOLG")
    professional = user_of(services, "professional").actor
    services.cases.complete_task(open_task(services, case_id, "stap1").id, professional, STAP1)
    services.cases.complete_task(open_task(services, case_id, "stap2").id,
                                 user_of(services, "aandachtsfunctionaris").actor, STAP2)
    services.cases.complete_task(open_task(services, case_id, "stap4").id, professional, STAP4)
    return case_id


def _without_browser_validation(page) -> None:
    """Send the form as a browser without constraint validation would, so that the server's errors show."""
    page.eval_on_selector_all("[required]", "els => els.forEach(el => el.removeAttribute('required'))")
    page.eval_on_selector_all("form", "els => els.forEach(el => el.noValidate = true)")


def test_a_professionals_pages(app, services, live_server, page, axe):
    case_id = start_case(services, client_ref="CL-A11Y")
    follow_up = _follow_up_case(services)
    page.goto(live_server + "/inloggen")
    axe.check("aanmelden")
    sign_in(page, live_server, "professional")
    axe.check("inbox met taken")
    page.goto(live_server + "/zaken")
    axe.check("zaken")
    page.goto(live_server + "/zaken/nieuw")
    axe.check("nieuwe zaak")
    task = open_task(services, case_id, "stap1")
    page.goto(f"{live_server}/taken/{task.id}")
    page.wait_for_selector(".task-form")
    _without_browser_validation(page)
    page.click("button:has-text('Vastleggen en afronden')")
    page.wait_for_selector(".field-error")
    axe.check("taak met foutmelding")
    page.goto(f"{live_server}/zaken/{follow_up}")
    page.wait_for_selector("#diagram[data-state=ready]")
    axe.check("dossier")
    page.goto(f"{live_server}/zaken/{follow_up}/gebeurtenis/nieuwe_signalen")
    page.wait_for_selector("form")
    axe.check("gebeurtenis vastleggen")
    page.goto(live_server + "/account")
    axe.check("account")
    page.goto(live_server + "/beheer/zaken")
    page.wait_for_selector("h1:has-text('Geen toegang')")
    axe.check("403")
    axe.assert_clean()


def test_an_empty_inbox_and_break_the_glass(app, services, live_server, page, axe):
    case_id = start_case(services, client_ref="CL-GLAS")
    sign_in(page, live_server, "zuid")  # a professional of team zuid: nothing to do
    axe.check("inbox zonder taken")
    page.goto(f"{live_server}/noodtoegang?zaak={case_id}")
    axe.check("noodtoegang vragen")
    page.click("button:has-text('Noodtoegang vragen')")  # no reason given: the errors show
    page.wait_for_selector(".error-summary")
    axe.check("noodtoegang vragen met foutmelding")
    axe.assert_clean()


def test_the_aandachtsfunctionaris_pages(app, services, live_server, page, axe):
    case_id = start_case(services, client_ref="CL-AF")
    glass.request_access(services.sessions, user_of(services, "zuid").actor, case_id,
                         "Collega afwezig; de cliënt belt vandaag en er moet iemand in het dossier kunnen kijken.")
    sign_in(page, live_server, "aandachtsfunctionaris")
    page.goto(live_server + "/noodtoegang/controle")
    axe.check("noodtoegang controleren")
    page.goto(live_server + "/dashboard")
    axe.check("dashboard")
    axe.assert_clean()


def test_the_beheerder_and_logbeheerder_pages(app, services, live_server, page, axe):
    case_id = start_case(services, client_ref="CL-BEHEER")
    sign_in(page, live_server, "beheerder")
    page.goto(live_server + "/beheer/zaken")
    axe.check("beheer: zaken")
    page.goto(f"{live_server}/beheer/zaken/{case_id}")
    if page.locator("#diagram").count():
        page.wait_for_selector("#diagram[data-state=ready]")
    axe.check("beheer: zaak")
    page.click("button:has-text('Afmelden')")
    sign_in(page, live_server, "logbeheerder")
    page.goto(live_server + "/auditlog")
    axe.check("auditlog")
    axe.assert_clean()


def test_the_studio_pages(app, services, live_server, page, axe):
    sign_in(page, live_server, "procesbeheerder")
    page.goto(live_server + "/studio/")
    page.wait_for_selector("h1:has-text('Studio')")
    axe.check("studio")
    page.locator("button:has-text('Nieuw concept van versie 1')").first.click()
    page.wait_for_selector("#status:has-text('Geopend')")
    axe.check("studio: concept")
    axe.assert_clean()
