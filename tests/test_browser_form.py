"""The public form in a real browser: Debian's Chromium via Playwright, axe-core for WCAG 2.2 AA.

A keyboard-only person completes and sends the form; an empty submit moves focus to the error
summary; every public page and state (errors, interruption, confirmation) has no axe violations at
1280 and 320 CSS pixels and no sideways scrolling at 320; the pages keep their CSP (no violations
reported) and load nothing from other hosts. Screenshots go to test-artefacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from gateway.services import Services
from tests.support.browser import (
    AXE,
    axe_violations,
    chromium,
    chromium_available,
    live_server,
    make_app,
    screenshot,
    sqlite_services,
    tab_to,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not chromium_available(), reason="Debian chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core missing: npm ci --prefix tests/browser"),
]


@pytest.fixture
def site(tmp_path: Path, redis_client: redis.Redis) -> Iterator[tuple[str, Services]]:
    services = sqlite_services(tmp_path / "var", redis_client)
    with live_server(make_app(services)) as base:
        yield base, services
    services.store.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any, site: tuple[str, Services]) -> Iterator[Any]:
    base, _ = site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    problems: list[str] = []
    opened.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    opened.on("request", lambda r: problems.append(f"outside request {r.url}") if not r.url.startswith(base) else None)
    opened.problems = problems
    yield opened
    context.close()


def fill_by_keyboard(page: Any, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def test_the_whole_form_by_keyboard_alone(page: Any, site: tuple[str, Services]) -> None:
    base, _ = site
    page.goto(base + "/")
    tab_to(page, "#about")
    page.keyboard.press("Space")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/details\?about=complaint"))
    fill_by_keyboard(page, "#details", "The invigilator left the room during my exam on 3 March.")
    fill_by_keyboard(page, "#outcome", "Check my paper again.")
    fill_by_keyboard(page, "#name", "Sam Jones")
    tab_to(page, "#reply")
    page.keyboard.press("Space")
    assert page.is_visible("#email")  # revealed by choosing Email
    fill_by_keyboard(page, "#email", "sam@example.com")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/confirmation$"))
    reference = page.text_content("[data-reference]")
    assert reference and re.fullmatch(r"[A-Z]{2,5}-\d{4}-\d{6}", reference.strip())
    assert re.search(r"We will reply by \w+day \d{1,2} \w+ \d{4}", page.text_content("[data-reply-by]") or "")
    screenshot(page, "keyboard-confirmation-1280")
    assert page.problems == []


def test_an_empty_submit_focuses_the_error_summary(page: Any, site: tuple[str, Services]) -> None:
    base, _ = site
    page.goto(base + "/details?about=complaint")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".error-summary")
    assert page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert page.text_content(".error-summary h2") == "There is a problem"
    page.click(".error-summary a[href='#details']")
    assert page.evaluate("document.activeElement.id") == "details"
    screenshot(page, "empty-submit-1280")


def test_hostile_answers_are_shown_back_inert(page: Any, site: tuple[str, Services]) -> None:
    base, _ = site
    hostile = "<script>document.title='pwned'</script> {{7*7}} <img src=x onerror=alert(1)>"
    page.goto(base + "/details?about=complaint")
    page.fill("#details", hostile)
    page.click("button[type=submit]")
    page.wait_for_selector(".error-summary")
    assert page.input_value("#details") == hostile
    assert "pwned" not in page.title() and page.locator("img[src=x]").count() == 0
    assert page.problems == []


def _states(page: Any, base: str) -> Iterator[str]:
    """Visit every public page and state, yielding a name for each."""
    page.goto(base + "/")
    yield "about"
    page.click("button[type=submit]")
    page.wait_for_selector(".error-summary")
    yield "about-error"
    page.goto(base + "/safety")
    yield "safety-interruption"
    page.goto(base + "/details?about=safety")
    yield "details-safety"
    page.goto(base + "/details?about=complaint")
    yield "details"
    page.click("button[type=submit]")
    page.wait_for_selector(".error-summary")
    yield "details-error"
    page.check("#reply-post")
    page.check("#adjustments-interpreter")
    page.fill("#details", "x")
    page.click("button[type=submit]")
    page.wait_for_selector(".error-summary")
    yield "details-error-conditional"
    page.fill("#address", "1 High Street\nCardiff\nCF10 1AA")
    page.fill("#language", "Polish")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/confirmation$"))
    yield "confirmation"
    page.goto(base + "/details?about=safety")
    page.fill("#details", "I am worried about a child.")
    page.check("#reply-none")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/confirmation$"))
    yield "confirmation-safety"
    page.goto(base + "/privacy")
    yield "privacy"
    page.goto(base + "/no-such-page")
    yield "not-found"


@pytest.mark.parametrize("width", [1280, 320])
def test_every_page_passes_axe_and_reflows(browser: Any, site: tuple[str, Services], width: int) -> None:
    base, _ = site
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    found: dict[str, Any] = {}
    for name in _states(page, base):
        violations = axe_violations(page)
        if violations:
            found[name] = violations
        scroll = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if scroll > 0:
            found.setdefault(name, []).append(f"scrolls sideways by {scroll}px")
        screenshot(page, f"{name}-{width}")
        if errors and name != "not-found":  # the 404 page logs its own 404 status, as it should
            found.setdefault(name, []).extend(errors)  # includes Content-Security-Policy violations
        errors.clear()
    context.close()
    assert found == {}
