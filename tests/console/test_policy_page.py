"""The console's policy page (issue #16, "Policy")."""

from __future__ import annotations

from typing import Any

from tests.api.admin.test_moderation_redact import audit_rows
from tests.conftest import OPERATOR, Homeserver
from tests.console.client import ConsoleClient

FORM = {
    "max_admins": "",
    "creation": "everyone",
    "creation_group": "",
    "encryption": "allowed",
    "fallback_admin": "",
    "moderator": "",
    "retention_default_days": "",
    "retention_min_days": "",
    "retention_max_days": "",
    "purge_interval_s": "3600",
    "redacted_content_days": "7",
    "aup_en": "Be kind.",
    "aup_ar": "كن لطيفاً.",
    "aup_pl": "Bądź miły.",
}


async def _version(admin: ConsoleClient) -> str:
    page = await admin.get("/policy")
    assert page.status_code == 200
    return hidden_version(page.text)


async def test_saving_sends_the_whole_document_with_its_version(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "the organisation policy document as a form (max admins, who may create
    rooms, encryption, retention, acceptable-use text in three languages ...)"; the brief:
    "saving sends the whole document with the version it was read at (a stale version shows a
    clear message); validation errors shown next to the form"."""
    admin = console
    read_at = await _version(admin)
    assert read_at == "0"

    bad = await admin.post("/policy", {**FORM, "version": read_at, "max_admins": "two"})
    assert bad.status_code == 400
    assert 'id="max_admins-error"' in bad.text
    assert 'aria-invalid="true"' in bad.text
    invalid = await admin.post("/policy", {**FORM, "version": read_at, "max_admins": "0"})
    assert invalid.status_code == 400
    assert "rooms.max_admins must be at least 1" in invalid.text
    assert await audit_rows(hs, "policy.update") == [("failure", "policy")]

    saved = await admin.post(
        "/policy",
        {**FORM, "version": read_at, "max_admins": "2", "retention_default_days": "30"},
    )
    assert saved.status_code == 303
    version, document = await hs.runtime.services.policy.get(OPERATOR)
    assert version == 1
    assert document.rooms.max_admins == 2
    assert document.retention.default_max_lifetime_ms == 30 * 86_400_000
    assert document.acceptable_use.ar == "كن لطيفاً."
    page = await admin.get("/policy")
    assert 'value="30"' in page.text
    assert "The policy was saved." in page.text

    stale = await admin.post("/policy", {**FORM, "version": read_at, "max_admins": "5"})
    assert stale.status_code == 409
    assert "Someone else changed the policy" in stale.text
    assert (await hs.runtime.services.policy.get(OPERATOR))[1].rooms.max_admins == 2

    refused = await admin.post("/policy", {**FORM, "version": "1", "csrf_token": ""})
    assert refused.status_code == 403


async def test_dlp_policies_add_remove_and_try_a_text(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """Issue #16: "DLP policies with a 'try a text' box that shows what each detector finds"."""
    admin = console
    added = await admin.http.post(
        "/admin/policy/dlp/add",
        data={
            "csrf_token": admin.csrf_token,
            "version": await _version(admin),
            "name": "cards",
            "detectors": ["payment_card", "iban"],
            "keywords": "secret, classified",
            "action": "block",
            "scope_rooms": "",
            "scope_users": "",
            "scope_groups": "",
        },
    )
    assert added.status_code == 303
    dlp: Any = (await hs.runtime.services.policy.get(OPERATOR))[1].dlp
    assert [p.name for p in dlp.policies] == ["cards"]
    assert dlp.policies[0].action == "block"

    tried = await admin.post("/policy/dlp/test", {"text": "pay 4111 1111 1111 1111 now"})
    assert tried.status_code == 200
    assert '<bdi class="finding">4111 1111 1111 1111</bdi>' in tried.text

    confirm = await admin.get("/policy/dlp/remove", params={"name": "cards"})
    assert confirm.status_code == 200
    removed = await admin.post(
        "/policy/dlp/remove",
        {"name": "cards", "version": hidden_version(confirm.text)},
    )
    assert removed.status_code == 303
    assert (await hs.runtime.services.policy.get(OPERATOR))[1].dlp.policies == []


async def test_arabic_policy_page_is_right_to_left(hs: Homeserver, console: ConsoleClient) -> None:
    """Issue #16: "right-to-left layout for Arabic ... `dir="rtl"`"; the brief: "the Arabic
    textarea dir="rtl"". No inline script or style (the CSP forbids them)."""
    admin = console
    assert (await admin.get("/language/ar")).status_code == 303
    page = await admin.get("/policy")
    assert '<html lang="ar" dir="rtl">' in page.text
    assert 'id="aup_ar" name="aup_ar" lang="ar" dir="rtl"' in page.text
    assert "<script" not in page.text
    assert "style=" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "سياسة المؤسسة" in page.text  # "Organisation policy", translated


async def test_policy_page_needs_a_session(browser: ConsoleClient) -> None:
    """Issue #16: "no page or action without a session"."""
    assert (await browser.get("/policy")).status_code == 303
    resp = await browser.post("/policy/dlp/test", {"text": "x", "csrf_token": "x"})
    assert resp.status_code == 303


def hidden_version(html: str) -> str:
    return html.split('name="version" value="', 1)[1].split('"', 1)[0]


async def test_an_unchanged_lifetime_saves_the_same_milliseconds(
    hs: Homeserver, console: ConsoleClient
) -> None:
    """The brief: "saving sends the whole document": a lifetime set through the admin API in
    milliseconds that are not whole days survives a save of the form unchanged."""
    policy = hs.runtime.services.policy
    await policy.replace(OPERATOR, {"retention": {"default_max_lifetime_ms": 123_456_789}})
    page = await console.get("/policy")
    shown = page.text.split('name="retention_default_days" min="0" step="any" value="', 1)[1]
    days = shown.split('"', 1)[0]
    form = {**FORM, "version": hidden_version(page.text), "retention_default_days": days}
    assert (await console.post("/policy", form)).status_code == 303
    version, document = await policy.get(OPERATOR)
    assert version == 2
    assert document.retention.default_max_lifetime_ms == 123_456_789
