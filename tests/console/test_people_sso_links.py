"""A person's single sign-on links in the console: listed on their page, and unlinked one at a
time after a confirmation (docs/subsystems/auth.md: a person the IdP recreated is refused until
the old link goes). The same change as Synapse's `external_ids`, audited as the admin."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import quote

import pytest

from bastion.config_sso import SsoConfig, SsoProvider
from bastion.services.admin.users import ExternalId, UserChanges
from bastion.services.audit.reader import AuditQuery
from tests.conftest import OPERATOR, Homeserver
from tests.console.client import ConsoleClient

SUBJECT = "00u1a2b3/<i>x</i>"  # an IdP's subject may hold any character


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    # Discovery is fetched on the first sign-in only: no provider needs to answer here.
    corp = SsoProvider(
        id="corp", name="Contoso Entra", issuer="https://id.example.org", client_id="bastion",
        client_secret="s3cret",
    )  # fmt: skip
    return {"sso": SsoConfig(providers=(corp,))}


def _person(user_id: str, suffix: str = "") -> str:
    return f"/people/{quote(user_id, safe='')}" + (f"/{suffix}" if suffix else "")


async def _link(hs: Homeserver, user_id: str, *links: tuple[str, str]) -> None:
    changes = UserChanges(external_ids=[ExternalId(p, s) for p, s in links])
    await hs.runtime.services.admin_users.put_user(OPERATOR, user_id, changes)


async def _links(hs: Homeserver, user_id: str) -> list[tuple[str, str]]:
    return (await hs.runtime.services.admin_users.get_user(OPERATOR, user_id)).external_ids


async def test_a_persons_links_are_listed_and_one_is_unlinked_after_confirming(
    hs: Homeserver, console: ConsoleClient
) -> None:
    gina = await hs.create_user("gina")
    await _link(hs, gina, ("corp", SUBJECT), ("retired-idp", "legacy-7"))
    page = await console.get(_person(gina))
    assert "Single sign-on" in page.text
    assert "<td><bdi>Contoso Entra</bdi></td>" in page.text  # the configured name
    assert "<td><bdi>retired-idp</bdi></td>" in page.text  # no longer configured: its ID
    assert "<bdi>00u1a2b3/&lt;i&gt;x&lt;/i&gt;</bdi>" in page.text  # escaped
    unlink = f"sso/corp/unlink?subject={quote(SUBJECT, safe='')}"
    assert html.escape(unlink) in page.text

    confirm = await console.get(_person(gina, unlink))
    assert confirm.status_code == 200
    assert "will no longer be linked" in confirm.text
    assert "<bdi>Contoso Entra</bdi>" in confirm.text
    assert f'name="subject" value="{html.escape(SUBJECT)}"' in confirm.text
    assert await _links(hs, gina) == [("corp", SUBJECT), ("retired-idp", "legacy-7")]

    done = await console.post(_person(gina, "sso/corp/unlink"), {"subject": SUBJECT})
    assert done.status_code in (200, 303)
    assert await _links(hs, gina) == [("retired-idp", "legacy-7")]
    after = await console.get(_person(gina))
    assert "is no longer linked to that sign-in" in after.text
    assert "Contoso Entra" not in after.text
    records = await hs.runtime.services.audit_log.list(
        OPERATOR, AuditQuery(action="user.update", target=gina)
    )
    (by_admin,) = [r for r in records if r.actor == "@root:test.bastion"]
    assert "external_ids" in json.loads(by_admin.details)["fields"]


async def test_unlinking_what_is_not_linked_changes_nothing(
    hs: Homeserver, console: ConsoleClient
) -> None:
    hana = await hs.create_user("hana")
    await _link(hs, hana, ("corp", "sub-1"))
    await console.get(_person(hana))
    await console.post(_person(hana, "sso/corp/unlink"), {"subject": "sub-2"})
    assert await _links(hs, hana) == [("corp", "sub-1")]
    assert "That sign-in is not linked to" in (await console.get(_person(hana))).text


async def test_unlinking_needs_the_forms_csrf_token_and_an_admin(
    hs: Homeserver, console: ConsoleClient
) -> None:
    ida = await hs.create_user("ida")
    await _link(hs, ida, ("corp", "sub-1"))
    await console.get(_person(ida))
    console.csrf_token = "forged"
    refused = await console.post(_person(ida, "sso/corp/unlink"), {"subject": "sub-1"})
    assert refused.status_code == 403
    assert await _links(hs, ida) == [("corp", "sub-1")]


async def test_a_person_without_links_shows_no_sign_in_section(
    hs: Homeserver, console: ConsoleClient
) -> None:
    jan = await hs.create_user("jan")
    assert "Single sign-on" not in (await console.get(_person(jan))).text
