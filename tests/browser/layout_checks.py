"""The layout checks every page state gets: at each width, nothing overflows sideways; at the narrowest, axe-core
(shipped inside axe-playwright-python, so it runs offline) finds no violation; a full-page screenshot if asked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

__all__ = ["State", "layout_problems"]

State = tuple[str, str, Callable[[Page], None]]
"""(name, first address, what to do there) for a state a visitor can meet."""

_AXE = Axe()


def layout_problems(
    chromium: Browser, base: str, states: Sequence[State], lang: str, widths: Sequence[int], shots: Path | None
) -> list[str]:
    """What is wrong with each state in ``lang`` at each of ``widths`` (empty when nothing); screenshots in
    ``shots``, as ``<name>-<lang>-<width>.png``, when given."""
    problems: list[str] = []
    for name, address, act in states:
        for width in widths:
            context = chromium.new_context(viewport={"width": width, "height": 800}, locale="en-GB")
            try:
                page = context.new_page()
                page.set_default_timeout(15_000)
                separator = "&" if "?" in address else "?"
                page.goto(f"{base}{address}{separator}lang={lang}")
                act(page)
                assert page.locator("html").get_attribute("lang") == lang, (name, page.url)
                scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                if scroll > inner:
                    problems.append(f"{name} {lang} {width}px: scrollWidth {scroll} > innerWidth {inner}")
                if width == widths[0]:
                    violations = _AXE.run(page).response["violations"]
                    problems += [f"{name} {lang}: axe {v['id']}: {v['help']}" for v in violations]
                if shots is not None:
                    shots.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(shots / f"{name}-{lang}-{width}.png"), full_page=True)
            finally:
                context.close()
    return problems
