"""The account page in headless Chromium (issue 10): with MELDCODE_MFA_REQUIRED on, a professional must set
up the second factor first (QR code, confirm with a code, recovery codes), signs in again with a code, sees
the case file's diagram under the security headers, and signs out everywhere from the account page."""
from __future__ import annotations

import pyotp
import pytest

from engine import clock
from tests.conftest import served
from web.auth import mfa

from .conftest import PASSWORD, start_case
from .test_browser import ARGS, CHROMIUM, screenshot


def in_own_playwright(scenario, timeout: float = 120):
    """Run `scenario(browser)` with a Chromium of its own, in a thread of its own: test_browser.py's
    session-wide Playwright may be running in this thread, and Playwright's sync API allows one per thread."""
    import threading
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/setup.sh --test)"
    failure = []

    def run():
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                try:
                    scenario(browser)
                finally:
                    browser.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the browser scenario did not finish"
    if failure:
        raise failure[0]


def new_page(browser):
    """A page that collects console errors (a CSP violation is one) and page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.problems = []
    page.on("console", lambda msg: page.problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    return page


@pytest.fixture
def mfa_server(make_app, web_settings, app):
    """The test users and diagrams of `app`, served by an app that requires the second factor."""
    required = make_app(web_settings.replace(mfa_required=True))
    with served(required) as url:
        yield url


def _code(secret: str, steps_back: int = 0) -> str:
    now_step = int(clock.now().timestamp()) // mfa.STEP
    return pyotp.TOTP(secret).at((now_step - steps_back) * mfa.STEP)


def _password(tab, base: str, username: str = "professional"):
    tab.goto(base + "/inloggen")
    tab.fill("#username", username)
    tab.fill("#password", PASSWORD)
    tab.click("button:has-text('Aanmelden')")


def test_enrol_sign_in_with_a_code_and_sign_out_everywhere(services, mfa_server, database_url):
    case_id = start_case(services)
    in_own_playwright(lambda browser: _scenario(browser, mfa_server, case_id, database_url))


def _scenario(browser, base: str, case_id: int, database_url: str):
    page = new_page(browser)
    _password(page, base)
    # Nothing else opens before the second factor is set up.
    page.wait_for_selector("text=Tweestapsverificatie is verplicht")
    page.goto(f"{base}/zaken/{case_id}")
    assert page.url.endswith("/account")
    page.click("button:has-text('Tweestapsverificatie instellen')")
    qr = page.locator("#qr-code")
    qr.wait_for()
    # The QR code is an inline SVG data: image; it must render under the page's CSP.
    assert page.evaluate("document.getElementById('qr-code').naturalWidth") > 0
    secret = page.inner_text("#totp-sleutel").strip()
    screenshot(page, "account-tweestapsverificatie", database_url)
    # Confirm with the previous step's code (accepted for clock drift), so the current one is left for sign-in.
    page.fill("#code", _code(secret, steps_back=1))
    page.click("button:has-text('Bevestigen')")
    page.wait_for_selector("text=Tweestapsverificatie staat aan")
    assert page.locator("#herstelcodes li").count() == 10
    page.goto(f"{base}/zaken/{case_id}")
    page.wait_for_selector("g.djs-element")  # the diagram renders under the CSP
    page.click("button:has-text('Afmelden')")
    page.wait_for_selector("text=U bent afgemeld")

    # Sign in again: the password, then the code.
    _password(page, base)
    page.wait_for_selector("h1:has-text('Tweestapsverificatie')")
    assert page.url.endswith("/inloggen/code")
    page.fill("#code", _code(secret))
    page.click("button:has-text('Verder')")
    page.wait_for_selector("h1:has-text('Inbox')")

    # A second browser with the same account (the next step's code, accepted for clock drift).
    other = browser.new_context()
    try:
        second = other.new_page()
        _password(second, base)
        second.wait_for_selector("#code")
        second.fill("#code", _code(secret, steps_back=-1))
        second.click("button:has-text('Verder')")
        second.wait_for_selector("h1:has-text('Inbox')")

        page.goto(base + "/account")
        rows = page.locator("#sessies tbody tr")
        assert rows.count() == 2 and page.locator("#sessies >> text=(deze sessie)").count() == 1
        screenshot(page, "account-sessies", database_url)
        page.click("#overal-afmelden")
        page.wait_for_selector("text=U bent afgemeld")
        second.goto(f"{base}/zaken/{case_id}")
        assert "/inloggen" in second.url  # the other browser is signed out too
        page.goto(base + "/")
        assert "/inloggen" in page.url
    finally:
        other.close()
    assert page.problems == [], page.problems
