"""Fixtures of the browser tests: Kleline served by uvicorn on a free loopback port, and Debian's Chromium.

The server runs in a thread of the test process, on the test's database and its hand-moved clock, so that a test can
compute the authenticator's code for the server's "now". Chromium is the one Debian installs (``apt-get install -y
chromium``, which ``make test`` runs when it is missing), driven headless by Playwright: Playwright's own browser
downloads are never used. Requests to the shop's return address never leave the machine: the browser context answers
them itself and records where the customer was sent.

The browser tests run on one backend, SQLite, where the rest of the suite runs on both: the pages call the same
services as the API, which the HTTP (tests/e2e) and integration tests check on SQLite and PostgreSQL alike, and a
test in Chromium costs ten to a hundred times one over HTTP. A browser test that exists to check something of
PostgreSQL's asks for it with ``pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)``, and the
journeys of a shopper, a shop and Kleline's staff run on both (``BOTH_BACKENDS``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, sync_playwright

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings

from ..conftest import FakeClock, MigratedTemplates, database_copy
from ..e2e.live_server import loopback_listener, serving

CHROMIUM = Path("/usr/bin/chromium")
SHOP_ORIGIN = "https://shop.example"


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium (make test does it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class LiveKleline:
    """Kleline behind a real HTTP server: ``url`` is its public address."""

    kleline: Kleline
    url: str


@contextmanager
def served(database_url: str, clock: FakeClock, host: str = "127.0.0.1") -> Iterator[LiveKleline]:
    """Kleline served by uvicorn on 127.0.0.1, on a port the system picked, its public address naming ``host``
    (``localhost`` for passkeys: browsers refuse them for an IP address)."""
    listener, url = loopback_listener()
    url = url.replace("127.0.0.1", host)
    # A journey test signs in dozens of times within a minute from 127.0.0.1, far above a person's rate; the
    # per-client limits are tested on their own (tests/e2e/test_rate_limits_*.py).
    settings = load_settings(database_url=database_url, public_url=url, sign_in_rate=1000, sign_up_rate=1000)
    system = build(settings, clock=clock)
    try:
        with serving(create_app(system), listener):
            yield LiveKleline(system, url)
    finally:
        system.close()  # the lifespan closed it already; closing twice is harmless


BOTH_BACKENDS = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
"""For the journeys the issues ask for on both backends: a test so marked runs on SQLite and on PostgreSQL."""


@pytest.fixture(params=["sqlite"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: MigratedTemplates
) -> Iterator[str]:
    """A migrated, empty database, on SQLite unless the test asks for another backend (see the module's docstring)."""
    with database_copy(migrated_templates, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def live(database_url: str, clock: FakeClock) -> Iterator[LiveKleline]:
    """Kleline served by uvicorn on 127.0.0.1, on a port the system picked."""
    with served(database_url, clock) as system:
        yield system


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver, once per run."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    _require_chromium()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class Shop:
    """The shop's return page, answered inside the browser: the URLs the customer was sent back to."""

    returns: list[str] = field(default_factory=list)

    def answer(self, route: Route) -> None:
        self.returns.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>Shop</title><h1>Thank you</h1>")


@pytest.fixture
def shop_site() -> Shop:
    """The shop's pages, as the browser sees them."""
    return Shop()


@pytest.fixture
def context(chromium: Browser, shop_site: Shop) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) whose requests to the shop never leave the machine."""
    browser_context = chromium.new_context(locale="en-GB")
    browser_context.route(f"{SHOP_ORIGIN}/**", shop_site.answer)
    try:
        yield browser_context
    finally:
        browser_context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab of that profile."""
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    return tab
