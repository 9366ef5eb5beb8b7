"""Real-browser tests: Debian's Chromium driven by Playwright against a live server on the test
database. A failing test leaves a screenshot of every open page in var/test/screenshots/.

On PostgreSQL the settings are a production's (Secure cookies, HSTS over HTTPS) and nothing here
turns them off: the live server is http://localhost, which Chromium treats as a secure origin, so it
keeps and sends Secure cookies there as it would over HTTPS."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from django.test import testcases
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        browser = item.funcargs.get("browser")
        if browser is not None:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for n, context in enumerate(browser.contexts):
                for m, page in enumerate(context.pages):
                    page.screenshot(path=str(SCREENSHOTS / f"{item.name}-{n}-{m}.png"), full_page=True)


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server on the embedded database: each browser connection keeps its own thread, but
    requests are answered one at a time. There every request shares the test's one in-memory SQLite
    connection, on which a write while another request is reading fails at once ("database table is
    locked"); the annotator page asks about its clip every second, so its requests do overlap."""

    def set_app(self, application):
        lock = threading.Lock()

        def one_at_a_time(environ, start_response):
            with lock:  # the view, and so every query, runs inside
                return application(environ, start_response)

        super().set_app(one_at_a_time)


@pytest.fixture(scope="session", autouse=True)
def _live_server_on_the_embedded_database():
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        yield
        return
    usual = testcases.LiveServerThread.server_class
    testcases.LiveServerThread.server_class = OneRequestAtATimeServer
    yield
    testcases.LiveServerThread.server_class = usual


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the test's own database calls
    # between browser steps are ordinary blocking calls, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: 'make test' installs it (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio"])
        yield browser
        browser.close()
        # Database calls made while Playwright's loop ran opened their own connection: close it here.
        connections.close_all()


def sign_in(browser, live_server, user, password="correct horse battery"):
    """A new browser session signed in with password and authenticator code, as staff sign in."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="phone", confirmed=True)
    page = browser.new_context().new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/mfa/**")
    page.fill("input[name=code]", f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}")
    page.press("input[name=code]", "Enter")  # the page's other button signs out
    page.wait_for_load_state("networkidle")
    return page



def refer_first_escalation(page, live_server, *, draft: str, reason: str, to: str = "Safeguarding lead"):
    """A supervisor's page: claim the first escalation, read its draft, record a referral."""
    page.goto(f"{live_server.url}/supervise/escalations/")
    page.click("#queue >> text=Claim")
    page.wait_for_selector(f"#case-draft >> text={draft}")
    page.check("input[name=outcome][value=referral]")
    page.fill("#referred-to", to)
    page.fill("#reason", reason)
    page.click("#resolve button[type=submit]")
    page.wait_for_selector("text=Outcome recorded.")
