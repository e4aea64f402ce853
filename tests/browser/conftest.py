"""Playwright driving Debian's Chromium (headless) against the live test server."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API runs an event loop in this thread while it
    # is open, and code under test elsewhere (async_to_sync) refuses to run beside one.
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed: `apt-get install chromium` (the CI script does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"],
        )
        yield browser
        browser.close()


def _settled(page: Page) -> None:
    """Leave the page and wait for what leaving sends (the draft's last save, a beacon) to be
    answered, so no request is still writing while the test's database is emptied."""
    in_flight: set[object] = set()

    # Plain functions: Playwright cannot take a bound builtin such as set.add as a handler.
    def sent(request: object) -> None:
        in_flight.add(request)

    def answered(request: object) -> None:
        in_flight.discard(request)

    page.on("request", sent)
    page.on("requestfinished", answered)
    page.on("requestfailed", answered)
    page.goto("about:blank")
    for _ in range(50):
        if not in_flight:
            break
        page.wait_for_timeout(100)


def agree_to_notice(context: BrowserContext) -> BrowserContext:
    """The browser has agreed to the DoD notice and consent (what "I agree" sets), on every
    host and port the tests serve from; the notice's own tests open a context without it."""
    from portal.accounts import consent

    context.add_cookies(
        [
            {"name": consent.cookie_name(), "value": consent.cookie_value(), "domain": host, "path": "/"}
            for host in ("localhost", "127.0.0.1")
        ]
    )
    return context


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = agree_to_notice(browser.new_context(viewport={"width": 1280, "height": 900}))
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    _settled(page)
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A 320 px wide phone screen, the narrowest the portal supports."""
    context = agree_to_notice(
        browser.new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    _settled(page)
    context.close()


def assert_accessible(page: Page, name: str) -> None:
    """axe-core finds no WCAG 2.1 A/AA violation on the page as it is now; keep a screenshot."""
    page.wait_for_load_state("load")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    # evaluate() runs through the DevTools protocol, so the page's CSP does not block axe.
    page.evaluate(AXE.read_text())
    result: dict[str, Any] = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    violations = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
    assert violations == [], f"{name}: {json.dumps(violations, indent=1)}"


def assert_no_csp_errors(messages: list[str]) -> None:
    blocked = [m for m in messages if "Content Security Policy" in m or "Refused to" in m]
    assert blocked == [], blocked
