"""A professional on a phone (390 px wide): the inbox, Zaken, a task page and the case file fit the width (nothing
scrolls sideways) and the case file's timeline is one column."""
from __future__ import annotations

import pytest

from .conftest import open_task, start_case, user_of
from .test_browser import screenshot, sign_in

PHONE = {"width": 390, "height": 844}
STAP1 = {"signalen": "Blauwe plekken op beide armen, gezien in de gymles; de leerling vertelt dat vader slaat.",
         "betreft_beroepskracht": False, "zorg": "hoog", "datum_signalering": "2026-01-05"}

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1 && el.getClientRects().length)
    .filter(el => !el.closest('.diagram'))  // the diagram is a canvas of its own (panned inside, clipped)
    .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                        (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
  return {scrollWidth: document.documentElement.scrollWidth, wide};
}"""


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, locale="nl-NL", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _fits(page, name: str) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["scrollWidth"] <= PHONE["width"], (
        f"{name} scrolls sideways at 390 px: scrollWidth {found['scrollWidth']}; too wide: {found['wide']}")


def test_a_professionals_main_pages_fit_a_phone(app, services, live_server, phone, database_url):
    case_id = start_case(services, client_ref="CL-2026-TELEFOON-0001")
    start_case(services, client_ref="CL-2026-TELEFOON-0002")
    services.cases.complete_task(open_task(services, case_id, "stap1").id,
                                 user_of(services, "professional").actor, STAP1)
    sign_in(phone, live_server, "professional")
    _fits(phone, "de inbox")
    screenshot(phone, "mobile-inbox", database_url)
    phone.goto(live_server + "/zaken")
    _fits(phone, "Zaken")
    screenshot(phone, "mobile-zaken", database_url)
    other = open_task(services, [c for c in services.cases.list_cases() if c.id != case_id][0].id, "stap1")
    phone.goto(f"{live_server}/taken/{other.id}")
    phone.wait_for_selector(".task-form")
    _fits(phone, "de taakpagina")
    phone.goto(f"{live_server}/zaken/{case_id}")
    phone.wait_for_selector("#diagram[data-state=ready]")
    _fits(phone, "het dossier")
    entries = phone.locator(".timeline > li")
    assert entries.count() >= 1
    for index in range(entries.count()):
        lefts = entries.nth(index).evaluate(
            "li => [...li.children].filter(c => c.getClientRects().length).map(c => Math.round(c.getBoundingClientRect().left))")
        assert len(set(lefts)) == 1, f"timeline entry {index} is not one column at 390 px: left edges {lefts}"
    screenshot(phone, "mobile-case-file", database_url)
