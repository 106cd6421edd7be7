"""Real-browser tests: Playwright drives Debian's Chromium through the pages a live server
serves (pytest-django's `live_server`, with its database committed: `transactional_db`).

Chromium is /usr/bin/chromium, which `make test` installs with apt-get when it is missing
(`make browser`); Playwright's own browser download is never used. One browser per test
module in each test process (xdist worker), a fresh context (cookies, storage) per test.
"""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.servers.basehttp import WSGIServer
from django.test import Client
from django.test.testcases import LiveServerThread

from kechuang.programs import services as programs
from kechuang.statistics.models import ObservationStatus
from tests.indicators.conftest import figure, world  # noqa: F401  (fixtures the data below is made of)

CHROMIUM = Path("/usr/bin/chromium")
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
#: Collects what the Content-Security-Policy refused, before any script of the page runs.
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " + event.sourceFile);
});
"""


class OneRequestAtATime(WSGIServer):
    """The live server, answering one request after another (and closing each connection,
    as Django's server does when it is not threaded). The test database on SQLite lives in
    memory, and the live server shares the test's one connection to it with every request's
    thread: two requests at once (a page and the trends it fetches) would use one SQLite
    connection from two threads, which can hang both. Production serves with gunicorn."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)


@pytest.fixture(scope="session", autouse=True)
def serialised_live_server():
    """Installed before pytest-django's session-wide `live_server` starts its thread."""
    previous = LiveServerThread.server_class
    LiveServerThread.server_class = OneRequestAtATime
    yield
    LiveServerThread.server_class = previous


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser():
    """Chromium, for the tests of one module: Playwright's synchronous API marks its event
    loop as running in this thread between its calls for as long as it is started, and Django
    would take every database call made meanwhile for one made from async code, which they are
    not. So its guard is lifted (as Playwright's docs advise) only while the browser is open,
    and the browser is closed when the module's tests are done: other tests in the same
    process, and the processes they start (`check --deploy` refuses the variable), keep it."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: `make browser` installs it "
                    "(apt-get install chromium fonts-noto-cjk)", pytrace=False)
    from playwright.sync_api import sync_playwright

    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


class Console:
    """What the page reported as wrong: console errors, uncaught exceptions, CSP refusals."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message) -> None:
        # The browser asks every site for /favicon.ico, which kechuang does not serve.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.errors.append(f"{message.text} ({message.location.get('url')})")

    def problems(self) -> list[str]:
        violations = self.page.evaluate("window.__violations || []") if not self.page.is_closed() else []
        return self.errors + [f"CSP: {violation}" for violation in violations]


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(locale="zh-CN", base_url=live_server.url)
    context.set_default_timeout(15_000)
    context.add_init_script(WATCH_CSP)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.console = Console(page)
    yield page
    # Requests the page still makes (a dashboard's trends come after it) end before the test's
    # data is removed: one in flight then holds the SQLite database's lock.
    page.wait_for_load_state("networkidle")
    assert page.console.problems() == [], "the page reported errors"


@pytest.fixture
def sign_in(context, live_server):
    """sign_in(user): the browser holds a session of `user` (as after logging in)."""

    def sign_in(user):
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    return sign_in


def approve(applicant, day: dt.date, title: str):
    project = programs.create_project(applicant, title_zh=title, category="普通科创项目")
    for step, hour in (("submit", 8), ("start_review", 9), ("approve", 10)):
        programs.take(project, step, at=dt.datetime.combine(day, dt.time(hour), tzinfo=programs.SHANGHAI))
    return project


@pytest.fixture
def shown(transactional_db, world, figure):  # noqa: F811
    """The small world of tests/indicators with figures for 2023H1 and 2022H1 and three projects."""
    for period, scale in (("2023H1", 1), ("2022H1", 2)):
        for key, output, high_tech in (("parked", 100, 50), ("zoned", 200, 100), ("plain", 300, 150)):
            figure(world[key], "industrial-output", period, output * scale)
            figure(world[key], "high-tech-output", period, high_tech)
        figure(world["rival"], "industrial-output", period, 1000)
    figure(world["tongzhou"], "high-tech-output-share", "2023H1", 56, status=ObservationStatus.PUBLISHED)
    approve(world["plain"], dt.date(2023, 3, 1), "智能装备研发项目")
    approve(world["parked"], dt.date(2023, 5, 1), "真空泵国产化项目")
    approve(world["plain"], dt.date(2022, 4, 1), "上年项目")
    return world
