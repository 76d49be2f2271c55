"""The single sign-on pages speak the browser's language (Arabic right-to-left, Polish, else
English), like the admin console: every person signing in sees them. Their catalogs cover
their templates and the words the services give them (a refusal's reason, the action a UIA
session guards); a page's own values (a site, an IdP's words) stay escaped in every language.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from bastion.api.sso.catalogs import SSO_SOURCES
from bastion.api.sso.pages import TRANSLATIONS_DIR
from bastion.i18n.catalogs import missing, used_msgids
from bastion.i18n.languages import load_translations
from bastion.services.uia import UiaAction
from tests.api import test_sso, test_sso_uia
from tests.conftest import Homeserver
from tests.oidc_provider import OidcTestProvider

idp = test_sso.idp  # the fixtures: a provider on loopback, and `hs` configured with it
config_overrides = test_sso.config_overrides
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_the_extraction_finds_the_pages_and_the_services_words() -> None:
    found = used_msgids(SSO_SOURCES)
    assert "Choose how to sign in:" in found  # a template
    assert "Too many sign-in attempts. Try again in a few minutes." in found  # api/sso
    assert "Your account is locked. Ask your administrator." in found  # services/sso
    assert UiaAction.REMOVE_DEVICES in found  # services/uia.py


@pytest.mark.parametrize("language", ["ar", "pl"])
def test_every_msgid_is_translated(language: str) -> None:
    untranslated = missing(SSO_SOURCES, language)
    assert not untranslated, f"untranslated in {language}: {sorted(untranslated)[:10]}"


@pytest.mark.parametrize("language", ["en", "ar", "pl"])
def test_each_catalog_keeps_the_placeholders(language: str) -> None:
    translations = load_translations(TRANSLATIONS_DIR, language)
    for msgid in used_msgids(SSO_SOURCES):
        text = translations.gettext(msgid)
        assert sorted(set(PLACEHOLDER.findall(text))) == sorted(set(PLACEHOLDER.findall(msgid)))


async def test_the_uia_confirmation_page_in_arabic_names_the_action_right_to_left(
    hs: Homeserver,
) -> None:
    alice, other_device = await test_sso_uia._second_device(hs, "alice")
    session = (await test_sso_uia._challenge(alice, other_device)).json()["session"]
    page = await hs.http.get(
        test_sso_uia.FALLBACK,
        params={"session": session},
        headers={"Accept-Language": "ar-EG,ar;q=0.9,en;q=0.5"},
    )
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "<title>أكّد أنك أنت</title>" in page.text
    assert "<strong>تسجيل الخروج من جلسات (أجهزة) حسابك وإزالتها</strong>" in page.text
    # The provider's name, as configured, isolated from the sentence's direction; the server's.
    assert "التأكيد باستخدام <bdi>Corporate</bdi>" in page.text
    assert "على <bdi>test.bastion</bdi>" in page.text
    assert "sign out" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")


async def test_an_idps_refusal_in_polish_keeps_its_words_escaped(
    hs: Homeserver, idp: OidcTestProvider
) -> None:
    await hs.create_user("alice")
    started = await test_sso.start(hs, test_sso.TRUSTED)
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    denied = await hs.http.get(
        test_sso.CALLBACK,
        params={"state": state, "error": "access_denied", "error_description": "<i>Nie</i>"},
        headers={"Accept-Language": "pl-PL"},
    )
    assert denied.status_code == 403
    assert '<html lang="pl" dir="ltr">' in denied.text
    assert "<title>Logowanie nie powiodło się</title>" in denied.text
    assert "Corporate nie zalogował Cię (access_denied: &lt;i&gt;Nie&lt;/i&gt;)." in denied.text
    assert "<i>" not in denied.text


async def test_the_untrusted_site_confirmation_in_polish_escapes_the_site(hs: Homeserver) -> None:
    await hs.create_user("alice")
    hostile = 'https://evil.example/"><b>x</b>'
    started = await test_sso.start(hs, hostile)
    back = await test_sso.through_idp(started)
    page = await hs.http.get(back, headers={"Accept-Language": "pl"})
    assert page.status_code == 200
    site = '<span class="site"><bdi>evil.example</bdi></span>'
    assert f"Aplikacja lub witryna {site} prosi" in page.text
    assert "Przejdź do <bdi>evil.example</bdi>" in page.text
    assert "<b>" not in page.text


async def test_an_unknown_language_gets_english(hs: Homeserver) -> None:
    page = await hs.http.get(
        test_sso_uia.FALLBACK, params={"session": "nope"}, headers={"Accept-Language": "de, fr"}
    )
    assert page.status_code == 400
    assert '<html lang="en" dir="ltr">' in page.text
    assert "This confirmation is unknown or has expired." in page.text
