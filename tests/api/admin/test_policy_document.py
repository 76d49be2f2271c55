"""The organisation policy document: one JSON document, versioned, every change audited with its
diff, seeded from `[policy]` in the config on first start (issue #12 §4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bastion.config import ConfigError, DatabaseConfig
from tests.conftest import Homeserver, errcode, homeserver_with

POLICY = "/_bastion/admin/v1/policy"


def _document(**rooms: Any) -> dict[str, Any]:
    texts = {"en": "Be kind.", "ar": "كن لطيفا.", "pl": "Bądź miły."}
    return {"rooms": {"max_admins": 3, "encryption": "required", **rooms}, "acceptable_use": texts}


async def test_defaults_before_any_version(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    resp = await admin.get(POLICY)
    assert resp.status_code == 200
    body = resp.json()
    assert body["version"] == 0
    assert body["rooms"] == {
        "max_admins": None, "creation": "everyone", "encryption": "allowed",
        "fallback_admin": None, "moderator": None,
    }  # fmt: skip


async def test_a_change_is_a_new_version_with_its_diff_audited(hs: Homeserver) -> None:
    admin = await hs.register_user("root", admin=True)
    first = await admin.put(POLICY, json=_document())
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1
    second = await admin.put(POLICY, json=_document(max_admins=2))
    assert second.json()["version"] == 2
    assert second.json()["rooms"]["max_admins"] == 2
    current = (await admin.get(POLICY)).json()
    assert current["version"] == 2
    assert current["acceptable_use"]["ar"] == "كن لطيفا."
    rows = await hs.runtime.db.fetch_all(
        "SELECT actor, details FROM audit_log WHERE action = 'policy.update' ORDER BY seq"
    )
    assert [r[0] for r in rows] == [admin.user_id, admin.user_id]
    assert json.loads(rows[1][1])["changes"] == {"rooms.max_admins": {"from": 3, "to": 2}}
    versions = await hs.runtime.db.fetch_all("SELECT version FROM org_policy ORDER BY version")
    assert [v[0] for v in versions] == [1, 2]


async def test_a_stale_version_is_refused_with_409(hs: Homeserver) -> None:
    """Two admins read version 1; the second to save must not silently undo the first."""
    admin = await hs.register_user("root", admin=True)
    await admin.put(POLICY, json=_document())
    read = (await admin.get(POLICY)).json()
    first = await admin.put(POLICY, json={**read, "rooms": {**read["rooms"], "max_admins": 2}})
    assert first.json()["version"] == 2
    stale = await admin.put(POLICY, json={**read, "rooms": {**read["rooms"], "max_admins": 7}})
    assert errcode(stale) == (409, "ORG.BASTION.STALE_VERSION")
    assert (await admin.get(POLICY)).json()["rooms"]["max_admins"] == 2
    assert errcode(await admin.put(POLICY, json={"version": "1"})) == (400, "M_BAD_JSON")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"rooms": {"max_admin": 3}}, "M_BAD_JSON"),  # a typo is refused, never ignored
        ({"archiving": {}}, "M_BAD_JSON"),
        ({"rooms": {"encryption": "sometimes"}}, "M_BAD_JSON"),
        ({"rooms": {"max_admins": 0}}, "M_INVALID_PARAM"),
        ({"rooms": {"creation": "managers"}}, "M_INVALID_PARAM"),
        ({"rooms": {"fallback_admin": "bob"}}, "M_INVALID_PARAM"),
        ([1, 2], "M_BAD_JSON"),
    ],
)
async def test_an_invalid_document_is_refused_and_nothing_changes(
    hs: Homeserver, body: Any, code: str
) -> None:
    admin = await hs.register_user("root", admin=True)
    resp = await admin.put(POLICY, json=body)
    assert errcode(resp) == (400, code)
    assert (await admin.get(POLICY)).json()["version"] == 0
    if isinstance(body, dict):  # (a body that is not an object never reaches the service)
        failed = await hs.runtime.db.fetch_one(
            "SELECT outcome FROM audit_log WHERE action = 'policy.update'"
        )
        assert failed is not None
        assert failed[0] == "failure"


async def test_non_admins_can_neither_read_nor_change_it(hs: Homeserver) -> None:
    bob = await hs.register_user("bob")
    assert errcode(await bob.get(POLICY)) == (403, "M_FORBIDDEN")
    assert errcode(await bob.put(POLICY, json=_document())) == (403, "M_FORBIDDEN")
    assert (await hs.runtime.services.policy.current_version())[0] == 0


async def test_seeded_from_the_config_on_first_start_only(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    seed = {"rooms": {"max_admins": 5, "encryption": "forbidden"}}
    async with homeserver_with(tmp_path, database_config, policy=seed) as hs:
        version, document = await hs.runtime.services.policy.current_version()
        assert version == 1
        assert document.rooms.max_admins == 5
        admin = await hs.register_user("root", admin=True)
        await admin.put(POLICY, json={"rooms": {"max_admins": 2}})
    changed = {"rooms": {"max_admins": 9}}
    async with homeserver_with(tmp_path, database_config, policy=changed) as hs:
        version, document = await hs.runtime.services.policy.current_version()
        assert version == 2  # the admin's change stands; the config only seeds
        assert document.rooms.max_admins == 2


async def test_an_invalid_seed_is_a_config_error(
    tmp_path: Path, database_config: DatabaseConfig
) -> None:
    with pytest.raises(ConfigError, match=r"\[policy\].*max_admins"):
        async with homeserver_with(tmp_path, database_config, policy={"rooms": {"max_admins": -1}}):
            pass
