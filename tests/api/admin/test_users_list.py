"""`GET /_synapse/admin/v2/users` and `v3/users`, as Synapse's Admin API documents them.

Synapse: "A response body like the following is returned: {"users": [{"name", "is_guest",
"admin", "user_type", "deactivated", "erased", "shadow_banned", "displayname", "avatar_url",
"creation_ts", "locked"}], "next_token": "100", "total": 200}"; "`creation_ts` - integer - The
user's creation timestamp in ms"; "To paginate, check for `next_token` and if present, call the
endpoint again with `from` set to the value of `next_token`".
"""

from __future__ import annotations

import pytest

from tests.api.admin.users_helpers import V2, root
from tests.conftest import OPERATOR, Homeserver, errcode

LIST_FIELDS = {
    "name", "user_type", "is_guest", "admin", "deactivated", "erased", "shadow_banned",
    "displayname", "avatar_url", "creation_ts", "last_seen_ts", "locked", "approved",
}  # fmt: skip


async def test_the_list_has_synapses_fields_and_creation_ts_in_ms(hs: Homeserver) -> None:
    admin = await root(hs)
    resp = await admin.get(V2)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["total"] == 1
    assert "next_token" not in body
    (user,) = body["users"]
    assert set(user) >= LIST_FIELDS
    assert user["name"] == admin.user_id
    assert user["admin"] is True
    assert user["deactivated"] is False
    assert user["locked"] is False
    assert user["displayname"] == "root"
    assert user["creation_ts"] == hs.clock.now_ms()


async def test_paging_with_from_limit_and_next_token(hs: Homeserver) -> None:
    """ "`next_token`: string representing a positive integer"; absent on the last page."""
    admin = await root(hs)
    for name in ("ann", "bob", "cat", "dan"):
        await hs.create_user(name)
    first = (await admin.get(V2, params={"limit": "2"})).json()
    assert first["total"] == 5
    assert [u["name"][1:4] for u in first["users"]] == ["ann", "bob"]
    assert first["next_token"] == "2"
    second = (await admin.get(V2, params={"limit": "2", "from": first["next_token"]})).json()
    assert [u["name"][1:4] for u in second["users"]] == ["cat", "dan"]
    last = (await admin.get(V2, params={"limit": "2", "from": second["next_token"]})).json()
    assert [u["name"][1:5] for u in last["users"]] == ["root"]
    assert "next_token" not in last


async def test_filters_name_user_id_admins(hs: Homeserver) -> None:
    """ "`name` - ... user ID localparts **or** displaynames that contain this value";
    "`admins` - If `true`, only admins are queried. If `false`, admins are excluded"."""
    admin = await root(hs)
    alice = await hs.register_user("alice")
    await alice.put(f"/profile/{alice.user_id}/displayname", json={"displayname": "Zed Ålice"})
    await hs.create_user("bob")

    async def names(**params: str) -> list[str]:
        resp = await admin.get(V2, params=params)
        assert resp.status_code == 200, resp.text
        return [u["name"] for u in resp.json()["users"]]

    assert await names(name="zed") == [alice.user_id]
    assert await names(name="BOB") == [f"@bob:{hs.server_name}"]
    assert await names(user_id="alic") == [alice.user_id]
    assert await names(admins="true") == [admin.user_id]
    assert admin.user_id not in await names(admins="false")
    assert await names(name="%") == []  # a LIKE wildcard is a plain character


async def test_deactivated_in_v2_includes_and_in_v3_filters(hs: Homeserver) -> None:
    """v2: "`deactivated` ... if `true` will **include** deactivated users. Defaults to `false`
    to exclude deactivated users"; v3: "If `true`, only deactivated users are returned. If
    `false`, deactivated users are excluded ... When the flag is absent ... not filtered"."""
    admin = await root(hs)
    gone = await hs.create_user("gone")
    await hs.runtime.services.accounts.deactivate(OPERATOR, gone)

    async def names(path: str, **params: str) -> set[str]:
        resp = await admin.get(path, params=params)
        assert resp.status_code == 200, resp.text
        return {u["name"] for u in resp.json()["users"]}

    assert await names(V2) == {admin.user_id}
    assert await names(V2, deactivated="true") == {admin.user_id, gone}
    v3 = "/_synapse/admin/v3/users"
    assert await names(v3) == {admin.user_id, gone}
    assert await names(v3, deactivated="true") == {gone}
    assert await names(v3, deactivated="false") == {admin.user_id}


async def test_order_by_and_dir(hs: Homeserver) -> None:
    """ "`dir` - ... Setting this value to `b` will reverse the above sort order";
    "If the ordered field has duplicates, the second order is always by ascending `name`"."""
    admin = await root(hs)
    for name in ("ann", "bob"):
        await hs.create_user(name)
        hs.clock.advance(10)
    newest_first = await admin.get(V2, params={"order_by": "creation_ts", "dir": "b"})
    assert [u["name"][1:4] for u in newest_first.json()["users"]] == ["bob", "ann", "roo"]
    by_admin = await admin.get(V2, params={"order_by": "admin", "dir": "b"})
    assert [u["name"][1:4] for u in by_admin.json()["users"]] == ["roo", "ann", "bob"]


@pytest.mark.parametrize(
    "params",
    [
        {"order_by": "password_hash"},
        {"from": "-1"},
        {"limit": "-5"},
        {"from": "ten"},
        {"limit": "1.5"},
        {"dir": "sideways"},
        {"deactivated": "maybe"},
    ],
)
async def test_bad_parameters_are_400(hs: Homeserver, params: dict[str, str]) -> None:
    """ "`order_by` ... Valid values are: ..." and `from`/`limit` are positive integers."""
    admin = await root(hs)
    resp = await admin.get(V2, params=params)
    assert errcode(resp) == (400, "M_INVALID_PARAM")


async def test_unknown_parameters_are_ignored(hs: Homeserver) -> None:
    admin = await root(hs)
    resp = await admin.get(V2, params={"not_user_type": "bot", "whatever": "1"})
    assert resp.status_code == 200
