"""How a browser test's page state signs a shop's user in to the dashboard: email, ``dashboard_world.PASSWORD``, then
the next code of the user's authenticator app."""

from __future__ import annotations

from collections.abc import Callable

import pyotp
from playwright.sync_api import Page

from ..conftest import FakeClock
from ..e2e.dashboard_world import PASSWORD

__all__ = ["signed_in_to_dashboard"]


def signed_in_to_dashboard(
    clock: FakeClock, email: str, totp: pyotp.TOTP, then: Callable[[Page], None] | None = None
) -> Callable[[Page], None]:
    """A state's act, on the dashboard's sign-in page: sign ``email`` in, then do ``then``. The clock moves on 30
    seconds first, as a code is accepted once and each state signs in again with the next one."""

    def act(page: Page) -> None:
        page.locator("#email").fill(email)
        page.locator("#password").fill(PASSWORD)
        page.locator("#password").press("Enter")
        page.wait_for_selector("#code")
        clock.advance(seconds=30)
        page.locator("#code").fill(totp.at(clock.now))
        page.locator("#code").press("Enter")
        page.wait_for_selector("h1")
        if then is not None:
            then(page)

    return act
