"""The API's documentation pages really render in Chromium with no network but Kleline's own server.

Every request that would leave Kleline's origin is refused by the browser context (as offline), so a page that
needed a CDN would stay blank; and the pages' Content-Security-Policy must let Swagger UI and ReDoc run from
``'self'`` alone. The only console error allowed is the policy refusing something (ReDoc's bundle always tries to
show Redocly's logo from its CDN, which the policy blocks before any request is made).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Route, expect

from .conftest import LiveKleline

pytestmark = pytest.mark.browser

# ReDoc lays out the whole API document in the page's script: seconds on a loaded two-core machine, beyond
# expect's 5 s default.
RENDERING = 30_000


@pytest.mark.parametrize(
    ("path", "selector", "text"),
    [
        ("/docs", ".swagger-ui .info .title", "Kleline"),
        ("/redoc", "h1", "Kleline"),
        ("/", "h1", "One wallet for every shop"),
    ],
)
def test_the_docs_and_the_home_page_render_offline_under_their_policy(
    live: LiveKleline, context: BrowserContext, path: str, selector: str, text: str
) -> None:
    elsewhere: list[str] = []

    def offline(route: Route) -> None:
        url = route.request.url
        if url.startswith(live.url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    context.route("**/*", offline)
    page = context.new_page()
    page.set_default_timeout(RENDERING)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    page.goto(live.url + path)
    expect(page.locator(selector).first).to_contain_text(text, timeout=RENDERING)
    if path == "/docs":
        # the operations were read from /openapi.json
        expect(page.locator(".opblock").first).to_be_visible(timeout=RENDERING)
    if path == "/redoc":
        expect(page.get_by_text("/v1/customers").first).to_be_attached(timeout=RENDERING)

    assert elsewhere == []
    assert [problem for problem in problems if "Content Security Policy" not in problem] == []
