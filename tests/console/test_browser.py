"""The console in a real browser: Chromium against a real `bastion serve`.

Issue #16: "Browser tests in `make test` with Playwright (PyPI) driving Debian's `chromium` ...
against a real `bastion serve`: sign in, create a person, find them, offboard them and see the
report ... The same flows in Arabic (the page is `dir="rtl"`, every visible string translated)
and Polish." and "an accessibility pass (labels, keyboard navigation, contrast) with axe-core
run in the browser tests, no serious violations."
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.async_api import Page

from tests.clients.server import BastionServer
from tests.console.browser import accessibility_violations, choose_language, describe

# What each language's pages say, to check the page really is in it.
PEOPLE = {"en": "People", "ar": "الأشخاص", "pl": "Osoby"}
REPORT = {"en": "Offboarding report", "ar": "تقرير إنهاء خدمة", "pl": "Raport z offboardingu"}


@pytest.mark.parametrize("language", ["en", "ar", "pl"])
async def test_create_find_and_offboard_a_person(
    admin_page: Page, console_server: BastionServer, language: str
) -> None:
    page, base = admin_page, console_server.base_url
    await choose_language(page, language)
    direction = await page.get_attribute("html", "dir")
    assert direction == ("rtl" if language == "ar" else "ltr")

    localpart = f"leaver{language}"
    await page.click("nav.mainnav a[href='/admin/people']")
    assert await page.inner_text("h1") == PEOPLE[language]
    await page.click("a[href='/admin/people/new']")
    await page.fill("#localpart", localpart)
    await page.fill("#displayname", f"Leaver {language.upper()}")
    await page.click("form[action='/admin/people/new'] button[type=submit]")
    password = await page.inner_text("#one-time-password")
    assert len(password) >= 16

    await page.goto(f"{base}/admin/people")
    await page.fill("#q", f"Leaver {language.upper()}")
    await page.press("#q", "Enter")
    user_id = console_server.user_id(localpart)
    await page.click(f"td a:has-text('Leaver {language.upper()}')")
    assert user_id in await page.inner_text("main")

    await page.click("a.button-danger[href$='/offboard']")
    assert await page.get_attribute("html", "lang") == language
    await page.click("form[action$='/offboard'] button.button-danger")
    await page.wait_for_selector("#offboarding-report")
    assert REPORT[language] in await page.inner_text("h1")
    assert user_id in await page.inner_text("h1")


@pytest.mark.parametrize("language", ["en", "ar", "pl"])
async def test_dashboard_and_people_pages_pass_axe(
    admin_page: Page, console_server: BastionServer, language: str
) -> None:
    page, base = admin_page, console_server.base_url
    await choose_language(page, language)
    for path in (
        "/admin/",
        "/admin/people",
        "/admin/people/new",
        "/admin/people/%40root%3Atest.bastion",
    ):
        await page.goto(base + path)
        violations = await accessibility_violations(page)
        assert not violations, f"{path} in {language}:\n{describe(violations)}"


@pytest.mark.parametrize("language", ["en", "ar", "pl"])
async def test_shadow_ban_a_person_and_lift_it(
    admin_page: Page, console_server: BastionServer, language: str
) -> None:
    """The person page's shadow ban, through its confirmation page, in each language; the
    pages it shows pass axe."""
    page, base = admin_page, console_server.base_url
    user_id = console_server.create_user(f"abuser{language}")
    await choose_language(page, language)
    await page.goto(f"{base}/admin/people/{quote(user_id, safe='')}")
    await page.click("a[href$='/shadow-ban']")
    violations = await accessibility_violations(page)
    assert not violations, f"the confirmation in {language}:\n{describe(violations)}"
    await page.click("form[action$='/shadow-ban'] button[type=submit]")
    await page.wait_for_selector("form[action$='/lift-shadow-ban']")
    assert await page.get_attribute("html", "lang") == language
    violations = await accessibility_violations(page)
    assert not violations, f"the person page in {language}:\n{describe(violations)}"
    await page.click("form[action$='/lift-shadow-ban'] button[type=submit]")
    await page.wait_for_selector("a[href$='/shadow-ban']")


async def test_keyboard_reaches_the_main_content(admin_page: Page) -> None:
    """The first Tab stop is the skip link, which moves focus to the main content."""
    await admin_page.keyboard.press("Tab")
    assert await admin_page.evaluate("document.activeElement.className") == "skip-link"
    await admin_page.keyboard.press("Enter")
    assert await admin_page.evaluate("document.activeElement.id") == "main"
