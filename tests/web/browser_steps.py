"""Steps the browser tests share (Playwright on Debian's Chromium): signing in and out, starting a case from the
inbox, filling in and sending a form, opening a case file, screenshots, and a page on an app served for one test.
The browser fixtures themselves live in tests/conftest.py."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import served

from .conftest import PASSWORD

PROJECT = Path(__file__).resolve().parents[2]
OUTPUT = PROJECT / "test-output"
COMPLETE = "button:has-text('Vastleggen en afronden')"  # sends a task form


def sign_in(page, base: str, username: str):
    page.goto(base + "/")
    assert "/inloggen" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Aanmelden')")
    page.wait_for_selector("h1:has-text('Inbox')")


def sign_out(page) -> None:
    page.click("button:has-text('Afmelden')")
    page.wait_for_selector("text=U bent afgemeld")


def start_case_in_browser(page, client_ref: str, reason: str, *, levensbedreigend: bool):
    """Fill in and send the start form, as a professional does from the inbox."""
    page.click("a.button:has-text('Meldcode starten')")
    page.fill("#veld-client_ref", client_ref)
    page.fill("#veld-aanleiding", reason)
    page.check(f"input[name=levensbedreigend][value={'ja' if levensbedreigend else 'nee'}]")
    page.click("button:has-text('Start de meldcode')")


def send(page, fields: Mapping[str, str | bool], button: str, until: str | None = None) -> None:
    """Fill in a form in the order given (a text: typed into the field; True: the radio button or checkbox
    checked), click `button` and wait for `until` when given."""
    for selector, value in fields.items():
        if value is True:
            page.check(selector)
        else:
            page.fill(selector, value)
    page.click(button)
    if until is not None:
        page.wait_for_selector(until)


def open_case_file(page, base: str, case_id: int) -> None:
    """The case file, once bpmn-js has drawn its diagram."""
    page.goto(f"{base}/zaken/{case_id}")
    page.wait_for_selector("#diagram[data-state=ready]")


def screenshot(page, name: str, database_url: str):
    OUTPUT.mkdir(exist_ok=True)
    suffix = "" if database_url.startswith("sqlite") else "-postgres"
    page.screenshot(path=str(OUTPUT / f"{name}{suffix}.png"), full_page=True)


@contextmanager
def served_page(browser, app, **context_options) -> Iterator[tuple]:
    """`app` served for one test and a fresh browser context on it (options as `browser.new_context` takes them);
    yields (page, base URL). For an app of the test's own; the `live_server` and `page` fixtures serve the `app`
    fixture."""
    with served(app) as base:
        context = browser.new_context(**context_options)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page, base
        finally:
            context.close()
