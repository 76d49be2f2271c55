"""An account's single sign-on links in Synapse's admin API: `external_ids` in `GET/PUT
/_synapse/admin/v2/users/{userId}` and `GET /_synapse/admin/v1/auth_providers/{provider}/users/
{externalId}` (Synapse's admin docs, "Query User Account", "Create or modify account", "Find a
user based on their ID in an auth provider")."""

from __future__ import annotations

import json
from typing import Any

from tests.api import test_sso
from tests.conftest import Homeserver, UserClient, errcode
from tests.oidc_provider import OidcTestProvider

idp = test_sso.idp  # the fixtures: a provider on loopback (`corp`), and `hs` configured with it
config_overrides = test_sso.config_overrides
USERS = "/_synapse/admin/v2/users"


async def _signs_in_as(hs: Homeserver) -> str | None:
    """Who the provider's current person signs in as (None: refused)."""
    answer = await test_sso.sign_in(hs)
    if answer.status_code != 302:
        return None
    login = await test_sso.token_login(hs, test_sso.login_token_of(answer.headers["location"]))
    return str(login.json()["user_id"])


async def _links(root: UserClient, user_id: str) -> Any:
    return (await root.get(f"{USERS}/{user_id}")).json()["external_ids"]


async def test_the_links_are_shown_and_found(hs: Homeserver) -> None:
    """A sign-in's link shows in the account's details, and the account is found by it."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.create_user("alice")
    assert await _links(root, alice) == []
    assert await _signs_in_as(hs) == alice
    assert await _links(root, alice) == [{"auth_provider": "corp", "external_id": "sub-alice"}]
    found = await root.get("/_synapse/admin/v1/auth_providers/corp/users/sub-alice")
    assert found.json() == {"user_id": alice}
    for path in ("corp/users/sub-nobody", "elsewhere/users/sub-alice"):
        missing = await root.get(f"/_synapse/admin/v1/auth_providers/{path}")
        assert errcode(missing) == (404, "M_NOT_FOUND")
    bob = await hs.register_user("bob")
    refused = await bob.get("/_synapse/admin/v1/auth_providers/corp/users/sub-alice")
    assert errcode(refused) == (403, "M_FORBIDDEN")


async def test_an_admin_relinks_a_person_the_idp_recreated(
    hs: Homeserver, idp: OidcTestProvider
) -> None:
    """The IdP recreated alice with a new `sub`: refused (her account is linked to the old
    one) until an admin unlinks it with `external_ids: []`; her next sign-in links the new one.
    Setting a subject another account has is 409 and changes nothing; audited as an update."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.create_user("alice")
    bob = await hs.create_user("bob")
    assert await _signs_in_as(hs) == alice
    idp.claims = {"sub": "sub-alice-2"}
    assert await _signs_in_as(hs) is None
    unlinked = await root.put(f"{USERS}/{alice}", json={"external_ids": []})
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["external_ids"] == []
    assert await _signs_in_as(hs) == alice
    assert await _links(root, alice) == [{"auth_provider": "corp", "external_id": "sub-alice-2"}]

    taken = [{"auth_provider": "corp", "external_id": "sub-alice-2"}]
    conflict = await root.put(f"{USERS}/{bob}", json={"external_ids": taken, "displayname": "B"})
    assert conflict.status_code == 409, conflict.text
    assert await _links(root, bob) == []
    assert (await root.get(f"{USERS}/{bob}")).json()["displayname"] == "bob"  # not "B"
    rows = await hs.runtime.db.fetch_all(
        "SELECT details FROM audit_log WHERE action = 'user.update' AND target = ?"
        " AND outcome = 'success'",
        alice,
    )
    assert [json.loads(r[0])["fields"] for r in rows] == [["external_ids"]]


async def test_bad_links_are_refused(hs: Homeserver) -> None:
    """Each link names a provider and a subject, one per provider."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.create_user("alice")
    for external_ids in (
        [
            {"auth_provider": "corp", "external_id": "a"},
            {"auth_provider": "corp", "external_id": "b"},
        ],
        [{"auth_provider": "", "external_id": "a"}],
        [{"auth_provider": "corp"}],
        "corp",
    ):
        resp = await root.put(f"{USERS}/{alice}", json={"external_ids": external_ids})
        assert resp.status_code == 400, (external_ids, resp.text)
    assert await _links(root, alice) == []
