"""Driving the console in Chromium: sign-in, languages, and the axe-core accessibility check.

The browser is Debian's Chromium driven by Playwright (`executable_path`), the axe-core script
a file from npm; `scripts/with-chromium` provides both and exports their paths. Without them the
browser tests are skipped, like the PostgreSQL ones without `scripts/with-postgres`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.async_api import Page

CHROMIUM_VAR = "BASTION_TEST_CHROMIUM"
AXE_VAR = "BASTION_TEST_AXE"
TIMEOUT_MS = 15_000  # every wait for the page is bounded
# Impacts that fail a test: axe-core's "serious" and "critical".
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def chromium_path() -> str | None:
    return os.environ.get(CHROMIUM_VAR) or None


def axe_path() -> str | None:
    return os.environ.get(AXE_VAR) or None


async def sign_in(page: Page, base_url: str, user: str, password: str) -> None:
    """Sign in through the form, as an admin would; ends on the dashboard."""
    await page.goto(f"{base_url}/admin/login")
    await page.fill("#user", user)
    await page.fill("#password", password)
    await page.click("form[action='/admin/login'] button[type=submit]")
    await page.wait_for_url(f"{base_url}/admin/")


async def choose_language(page: Page, language: str) -> None:
    """Click the language switcher (present on every page) and wait for the page in it."""
    await page.click(f".languages a[hreflang='{language}']")
    await page.wait_for_selector(f"html[lang='{language}']")


async def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page (WCAG 2 A/AA rules)."""
    path = axe_path()
    assert path is not None, f"{AXE_VAR} is not set (run under scripts/with-chromium)"
    # The CSP allows scripts from 'self' only: add_script_tag(path=) inlines the file, which a
    # strict CSP blocks, so axe is evaluated through the DevTools protocol instead.
    await page.evaluate(Path(path).read_text(encoding="utf-8"))  # noqa: ASYNC240  # a local file, once
    result: dict[str, Any] = await page.evaluate(
        "() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})"
    )
    return [v for v in result["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    """A readable list of violations for an assertion message."""
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
    )
