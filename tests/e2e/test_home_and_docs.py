"""The home page and the API's documentation pages: every link and asset is served by Kleline itself.

``http://127.0.0.1:8000/`` is the address the server's banner prints: it is a page, in French and English, that says
where to go. ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from this server, never from a CDN, so that they work
offline; the pages carry the same security headers as the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline

ORIGIN = "http://testserver"
PAGES = ("/", "/docs", "/redoc")
# Attributes that make a browser fetch or follow an address (``spec-url``: ReDoc's; ``data-openapi``: ours, read by
# the script that starts Swagger UI).
_ADDRESS_ATTRIBUTES = {"href", "src", "action", "spec-url", "data-openapi", "srcset", "poster", "formaction"}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
_SAME_HEADERS = ("X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cache-Control")


class _Addresses(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in _ADDRESS_ATTRIBUTES and value:
                self.found.append(value)


def addresses(html: str) -> list[str]:
    """Every address in ``html`` that a browser would fetch or follow."""
    parser = _Addresses()
    parser.feed(html)
    return parser.found


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[TestClient]:
    with TestClient(create_app(kleline), base_url=ORIGIN, follow_redirects=False) as client:
        yield client


def _on_this_server(address: str, base: str) -> str:
    """``address`` resolved against ``base``; it must stay on this server (no other host, no other scheme)."""
    resolved = urljoin(base, address)
    parts = urlsplit(resolved)
    assert (parts.scheme, parts.netloc) == ("http", "testserver"), f"{address!r} on {base} leaves Kleline"
    return resolved


def _fetch(browser: TestClient, url: str) -> tuple[str, str]:
    """GET ``url`` as a browser would, following redirects that stay on this server: the final URL and the body."""
    for _ in range(5):
        answer = browser.get(url)
        if answer.is_redirect:
            url = _on_this_server(answer.headers["location"], url)
            continue
        assert answer.status_code == 200, f"{url}: {answer.status_code} {answer.text[:200]}"
        return url, answer.text
    raise AssertionError(f"{url}: too many redirects")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_link_and_asset_of_the_home_page_and_the_docs_is_served_by_kleline(
    browser: TestClient, lang: str
) -> None:
    seen: set[str] = set()
    queue = [f"{ORIGIN}{page}?lang={lang}" for page in PAGES]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        final, body = _fetch(browser, url)
        if final.split("?")[0].endswith(".css"):
            found = [address for address in _CSS_URL.findall(body) if not address.startswith("data:")]
        elif "<html" in body[:500].lower():
            found = addresses(body)
        else:
            found = []
        for address in found:
            if address.startswith("#"):
                continue
            queue.append(_on_this_server(address, final).split("#")[0])
    paths = {urlsplit(url).path for url in seen}
    expected = {"/sign-up", "/sign-in", "/malls", "/v1/malls", "/docs", "/redoc", "/openapi.json"}
    expected.add("/static/kleline.css")
    assert expected <= paths
    assert {"/assets/docs/swagger-ui-bundle.js", "/assets/docs/swagger-ui.css", "/static/swagger-init.js"} <= paths
    assert "/assets/docs/redoc.standalone.js" in paths


def test_no_page_names_another_host_in_a_script_or_stylesheet_address(browser: TestClient) -> None:
    for page in PAGES:
        html = browser.get(page).text
        for address in addresses(html):
            assert not re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", address, re.IGNORECASE), (page, address)
        assert "cdn" not in html.lower() and "fonts.googleapis" not in html


def test_the_home_page_says_what_kleline_is_in_english(browser: TestClient) -> None:
    page = browser.get("/", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="en">' in html
    assert "<title>Kleline: pay online shops from one wallet · Kleline</title>" in html
    assert '<h1 id="home-title">One wallet for every shop</h1>' in html
    assert "payment intermediary for online shopping" in html
    assert '<a class="button-link" href="/sign-up">Open a wallet</a>' in html
    assert '<a href="/v1/malls">The malls directory</a>' in html and '<a href="/malls">' in html
    assert "<code>POST /v1/merchants</code>" in html and "<code>POST /v1/payments</code>" in html
    assert 'hreflang="fr"' in html  # the switch to French


def test_the_home_page_is_in_french_for_a_french_browser(browser: TestClient) -> None:
    page = browser.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert page.status_code == 200 and page.headers["content-language"] == "fr"
    html = page.text
    assert '<html lang="fr">' in html
    assert "<title>Kleline\u00a0: payez les boutiques en ligne depuis un seul portefeuille · Kleline</title>" in html
    assert '<h1 id="home-title">Un seul portefeuille pour toutes les boutiques</h1>' in html
    assert "intermédiaire de paiement" in html and "Démarrage rapide pour un marchand" in html
    assert '<a class="button-link" href="/sign-up">Ouvrir un portefeuille</a>' in html
    for english in ("Open a wallet", "Developers", "Quick start", "payment intermediary", "The malls", "commission of"):
        assert english not in html


def test_the_home_page_and_the_docs_carry_the_pages_security_headers(browser: TestClient) -> None:
    reference = browser.get("/sign-in").headers
    for page in PAGES:
        headers = browser.get(page).headers
        for name in _SAME_HEADERS:
            assert headers[name] == reference[name], (page, name)
        policy = headers["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
        sources = " ".join(directives.values()).split()
        # Only this origin (and what a page makes itself: data: icons, blob: workers), never another host.
        assert set(sources) <= {"'none'", "'self'", "'unsafe-inline'", "data:", "blob:"}, (page, policy)
        assert "'unsafe-inline'" not in directives.get("script-src", ""), page
    assert browser.get("/").headers["Content-Security-Policy"] == reference["Content-Security-Policy"]


def test_the_docs_assets_are_never_sniffed_nor_framed(browser: TestClient) -> None:
    for asset in ("/assets/docs/swagger-ui-bundle.js", "/static/swagger-init.js", "/static/kleline.css"):
        answer = browser.get(asset)
        assert answer.status_code == 200
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
    assert browser.get("/assets/docs/../../kleline/config.py").status_code == 404
