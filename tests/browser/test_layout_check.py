"""The layout check itself: it finds a page too wide for a phone, and a page that only overflows once widened (the
check resizes one page from width to width, so media queries must apply again)."""

from urllib.parse import quote

from playwright.sync_api import Browser

from .layout import layout_problems

_STYLE = "<style>@media (min-width: 1000px) { .wide { width: 1500px } }</style>"


def _page(body: str) -> str:
    return "data:text/html," + quote(
        f'<!doctype html><html lang="en"><head><title>t</title>{_STYLE}</head><body>'
        f"<main><h1>Check</h1>{body}</main></body></html><!--"
    )


def test_a_page_wider_than_a_phone_is_named_at_that_width_only(chromium: Browser) -> None:
    problems = layout_problems(
        chromium, _page('<p style="width: 800px">wide</p>'), [("wide", "", lambda page: None)], "en", (360, 1280)
    )
    assert len(problems) == 1 and problems[0].startswith("wide en 360px: scrollWidth 8")


def test_a_page_that_overflows_only_when_widened_is_named_at_the_wide_width(chromium: Browser) -> None:
    problems = layout_problems(
        chromium, _page('<p class="wide">wide</p>'), [("widened", "", lambda page: None)], "en", (360, 1280)
    )
    assert len(problems) == 1 and problems[0].startswith("widened en 1280px: scrollWidth 15")
