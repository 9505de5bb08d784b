"""The layout check every page group runs: each state of a page at each width, in one language, must not overflow
the viewport sideways, and axe (axe-core, shipped inside axe-playwright-python, so it runs offline) must find no
violation at the narrowest width.

Set ``KLELINE_SCREENSHOTS`` to a directory to keep a full-page screenshot of each state there, to look at.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

__all__ = ["State", "layout_problems", "look"]

State = tuple[str, str, Callable[[Page], None]]
"""A page's state: its name, the address to open, and what to do there."""

_AXE = Axe()


def layout_problems(
    chromium: Browser, base: str, states: Sequence[State], lang: str, widths: Sequence[int]
) -> list[str]:
    """What is wrong with each state in ``lang`` at each of ``widths`` (axe at the first): nothing, ideally."""
    shots = os.environ.get("KLELINE_SCREENSHOTS")
    problems: list[str] = []
    for name, address, act in states:
        # One browser context per state: it is opened at the first width, acted on once, then resized to each other
        # width (media queries apply again on resize), rather than signed in and acted on again at every width.
        context = chromium.new_context(viewport={"width": widths[0], "height": 800}, locale="en-GB")
        try:
            page = context.new_page()
            page.set_default_timeout(15_000)
            separator = "&" if "?" in address else "?"
            page.goto(f"{base}{address}{separator}lang={lang}")
            act(page)
            page.wait_for_load_state()
            assert page.locator("html").get_attribute("lang") == lang, (name, page.url)
            for width in widths:
                if width != widths[0]:
                    page.set_viewport_size({"width": width, "height": 800})
                    page.evaluate("new Promise(resolve => requestAnimationFrame(() => resolve(null)))")
                scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                if scroll > inner:
                    problems.append(f"{name} {lang} {width}px: scrollWidth {scroll} > innerWidth {inner}")
                if width == widths[0]:
                    violations = _AXE.run(page).response["violations"]
                    problems += [f"{name} {lang}: axe {v['id']}: {v['help']}" for v in violations]
                if shots:
                    Path(shots).mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(Path(shots) / f"{name}-{lang}-{width}.png"), full_page=True)
        finally:
            context.close()
    return problems


def look(page: Page, where: str, shot: str, problems: list[str]) -> None:
    """The layout check of a journey's page as the journey left it, at its one width: a sideways overflow or an axe
    violation is added to ``problems``, named ``where``; the screenshot is kept as ``shot``.png."""
    page.wait_for_load_state()
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > inner:
        problems.append(f"{where}: scrollWidth {scroll} > innerWidth {inner}")
    problems += [f"{where}: axe {v['id']}: {v['help']}" for v in _AXE.run(page).response["violations"]]
    shots = os.environ.get("KLELINE_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{shot}.png"), full_page=True)
