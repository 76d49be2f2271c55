"""Locked accounts (issue #12 §1): "the lockout after repeated wrong passwords is visible
(`locked` in the user list and details, `bastion user list` shows locked, deactivated and admin),
the user is told until when they are locked, and an admin unlocks without resetting the password
(`bastion user unlock`, admin API)".

Spec (client-server-api#account-locking): "When an account is locked, servers MUST return a
`401 Unauthorized` error response with an `M_USER_LOCKED` error code and `soft_logout` set to
`true` on all but the following Client-Server APIs: POST /logout, POST /logout/all"; "Servers
SHOULD NOT invalidate access tokens on locked accounts"; and a client "cannot obtain a new access
token until the account has been unlocked".
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bastion import cli
from bastion.config import DatabaseConfig
from bastion.store.opening import open_database
from tests.api.admin.users_helpers import V2, audit_rows, root
from tests.cli_helpers import cli_config_args, cli_create_user
from tests.conftest import (
    FAST_AUTH,
    OPERATOR,
    PASSWORD,
    SERVER_NAME,
    Homeserver,
    client_path,
    errcode,
)

LOCKOUT_SECONDS = 600


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    auth = msgspec.structs.replace(
        FAST_AUTH, lockout_after_failures=3, lockout_seconds=LOCKOUT_SECONDS
    )
    return {"auth": auth}


async def _login(hs: Homeserver, password: str) -> Any:
    return await hs.http.post(
        client_path("/login"),
        json={"type": "m.login.password", "user": "alice", "password": password},
    )


async def test_a_lockout_is_visible_says_until_when_and_an_admin_ends_it(hs: Homeserver) -> None:
    admin = await root(hs)
    alice = await hs.create_user("alice")
    for _ in range(3):
        assert errcode(await _login(hs, "wrong")) == (403, "M_FORBIDDEN")
    until_ms = hs.clock.now_ms() + LOCKOUT_SECONDS * 1000
    refused = await _login(hs, PASSWORD)
    assert errcode(refused) == (429, "M_LIMIT_EXCEEDED")
    assert refused.json()["retry_after_ms"] == LOCKOUT_SECONDS * 1000
    until = datetime.fromtimestamp(until_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert until in refused.json()["error"]

    details = (await admin.get(f"{V2}/{alice}")).json()
    assert details["locked"] is True
    # Synapse: "`locked` ... if `true` will **include** locked users. Defaults to `false`".
    listed = (await admin.get(V2, params={"locked": "true"})).json()["users"]
    assert {u["name"]: u["locked"] for u in listed} == {admin.user_id: False, alice: True}
    hidden = (await admin.get(V2)).json()["users"]
    assert [u["name"] for u in hidden] == [admin.user_id]
    own = (await admin.get(f"/_bastion/admin/v1/users/{alice}")).json()
    assert (own["locked"], own["admin_locked"], own["locked_until_ts"]) == (True, False, until_ms)

    unlocked = await admin.put(f"{V2}/{alice}", json={"locked": False})
    assert unlocked.json()["locked"] is False
    assert (await _login(hs, PASSWORD)).status_code == 200  # the same password
    (record,) = await audit_rows(hs, "user.unlock", alice)
    assert record["details"]["locked_until_ts"] == until_ms


async def test_the_lockout_ends_by_itself(hs: Homeserver) -> None:
    admin = await root(hs)
    alice = await hs.create_user("alice")
    for _ in range(3):
        await _login(hs, "wrong")
    hs.clock.advance(LOCKOUT_SECONDS + 1)
    assert (await admin.get(f"{V2}/{alice}")).json()["locked"] is False
    assert (await _login(hs, PASSWORD)).status_code == 200


async def test_an_admin_lock_refuses_tokens_and_logins_until_unlocked(hs: Homeserver) -> None:
    admin = await root(hs)
    alice = await hs.register_user("alice")
    second = await hs.login("alice")
    locked = await admin.put(f"{V2}/{alice.user_id}", json={"locked": True})
    assert locked.status_code == 200, locked.text
    assert locked.json()["locked"] is True

    whoami = await alice.get("/account/whoami")
    assert errcode(whoami) == (401, "M_USER_LOCKED")
    assert whoami.json()["soft_logout"] is True
    login = await _login(hs, PASSWORD)
    assert errcode(login) == (401, "M_USER_LOCKED")
    assert errcode(await _login(hs, "wrong")) == (403, "M_FORBIDDEN")  # no leak without it
    assert (await second.post("/logout")).status_code == 200  # logout still works

    unlock = await admin.post(f"/_bastion/admin/v1/users/{alice.user_id}/unlock")
    assert unlock.status_code == 200, unlock.text
    assert unlock.json()["locked"] is False
    assert (await alice.get("/account/whoami")).status_code == 200  # the token was kept
    assert (await _login(hs, PASSWORD)).status_code == 200
    assert [r["outcome"] for r in await audit_rows(hs, "user.lock", alice.user_id)] == ["success"]
    assert len(await audit_rows(hs, "user.unlock", alice.user_id)) == 1


def test_cli_user_list_shows_flags_and_unlock_keeps_the_password(
    tmp_path: Path,
    database_config: DatabaseConfig,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = cli_config_args(tmp_path, database_config)
    cli_create_user(argv, monkeypatch, "alice")
    cli_create_user(argv, monkeypatch, "root", admin=True)

    async def sql(statement: str) -> Any:
        db = await open_database(database_config.url, schema=database_config.schema)
        try:
            return await db.fetch_all(statement)
        finally:
            await db.close()

    asyncio.run(sql("UPDATE users SET locked_until_ts = 99999999999999 WHERE user_id LIKE '@a%'"))
    asyncio.run(sql("UPDATE users SET shadow_banned = 1 WHERE user_id LIKE '@a%'"))
    before = asyncio.run(sql("SELECT password_hash FROM users WHERE user_id LIKE '@a%'"))
    capsys.readouterr()
    assert cli.main(["user", "list", *argv]) == 0
    lines = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    server = SERVER_NAME
    assert lines[f"@alice:{server}"].endswith("\tlocked,shadow-banned")
    assert lines[f"@root:{server}"].endswith("\tadmin")
    assert cli.main(["user", "unlock", "alice", *argv]) == 0
    assert "unlocked" in capsys.readouterr().out
    assert cli.main(["user", "list", *argv]) == 0
    lines = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    assert lines[f"@alice:{server}"].endswith("\tshadow-banned")  # unlocking lifts no ban
    after = asyncio.run(
        sql("SELECT password_hash, locked_until_ts FROM users WHERE user_id LIKE '@a%'")
    )
    assert after[0][0] == before[0][0]
    assert after[0][1] == 0


async def test_the_specs_admin_lock_endpoints(hs: Homeserver) -> None:
    """Spec (getAdminLockUser / setAdminLockUser): "The user calling this endpoint MUST be a
    server admin"; 400 `M_INVALID_PARAM` "The user ID does not belong to the local server";
    404 `M_NOT_FOUND` "The user ID is not found, or is deactivated"; answers `{"locked": ...}`."""
    admin = await root(hs)
    alice = await hs.register_user("alice")
    path = f"/_matrix/client/v1/admin/lock/{alice.user_id}"
    assert (await admin.get(path)).json() == {"locked": False}
    locked = await admin.put(path, json={"locked": True})
    assert (locked.status_code, locked.json()) == (200, {"locked": True})
    assert errcode(await alice.get("/account/whoami")) == (401, "M_USER_LOCKED")
    assert errcode(await alice.get(path)) == (401, "M_USER_LOCKED")
    assert (await admin.get(f"{V2}/{alice.user_id}")).json()["locked"] is True
    assert (await admin.put(path, json={"locked": False})).json() == {"locked": False}
    assert errcode(await alice.get(path)) == (403, "M_FORBIDDEN")
    remote = "/_matrix/client/v1/admin/lock/@alice:elsewhere.example"
    assert errcode(await admin.get(remote)) == (400, "M_INVALID_PARAM")
    nobody = f"/_matrix/client/v1/admin/lock/@nobody:{hs.server_name}"
    assert errcode(await admin.put(nobody, json={"locked": True})) == (404, "M_NOT_FOUND")
    await hs.runtime.services.accounts.deactivate(OPERATOR, alice.user_id)
    assert errcode(await admin.get(path)) == (404, "M_NOT_FOUND")


async def test_admins_accounts_are_refused_and_the_capability_says_who_may(hs: Homeserver) -> None:
    """admin.yaml (v1.18), 403: "The requesting user is not a server administrator, is trying
    to lock their own account, or the target user is another administrator" (suspend: the same);
    capabilities.yaml `m.account_moderation`: "if the user can perform account moderation
    actions ... This property should be omitted altogether if `suspend` and `lock` would be
    `false`"."""
    admin = await root(hs)
    other = await hs.register_user("deputy", admin=True)
    alice = await hs.register_user("alice")
    for kind, field in (("lock", "locked"), ("suspend", "suspended")):
        base = f"/_matrix/client/v1/admin/{kind}"
        assert errcode(await admin.get(f"{base}/{other.user_id}")) == (403, "M_FORBIDDEN")
        refused = await admin.put(f"{base}/{other.user_id}", json={field: True})
        assert errcode(refused) == (403, "M_FORBIDDEN")
        own = await admin.put(f"{base}/{admin.user_id}", json={field: True})
        assert errcode(own) == (403, "M_FORBIDDEN")
        assert (await admin.get(f"{base}/{admin.user_id}")).json() == {field: False}
        assert (await admin.put(f"{base}/{alice.user_id}", json={field: False})).status_code == 200
    # Nothing refused took effect: the other admin still acts.
    assert (await other.get("/account/whoami")).status_code == 200
    assert (await other.post("/createRoom", json={})).status_code == 200
    caps = (await admin.get("/capabilities")).json()["capabilities"]
    assert caps["m.account_moderation"] == {"suspend": True, "lock": True}
    assert "m.account_moderation" not in (await alice.get("/capabilities")).json()["capabilities"]
