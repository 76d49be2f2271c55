"""Admin-capable service methods get the actor who acts: a user's device or an operator at the CLI.

Each committed admin action is logged on `bastion.admin` carrying its actor (`record.actor`);
these tests read those records, so they fail if the API or the CLI passes the wrong principal.
"""

from __future__ import annotations

import io
import logging
import os
import pwd
from pathlib import Path

import pytest

from bastion import cli
from bastion.config import DatabaseConfig, render_toml
from bastion.errors import Errcode, MatrixError
from bastion.services.principal import Operator, Principal, Requester
from tests.conftest import PASSWORD, Homeserver, make_config

ADMIN_LOG = "bastion.admin"


def admin_actions(caplog: pytest.LogCaptureFixture) -> list[tuple[Principal, str]]:
    """(actor, message) of every admin action logged so far."""
    return [(r.actor, r.getMessage()) for r in caplog.records if r.name == ADMIN_LOG]


async def test_own_deactivation_carries_the_users_device(
    hs: Homeserver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ADMIN_LOG)
    alice = await hs.register_user("alice")
    auth = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": alice.user_id},
        "password": PASSWORD,
    }
    resp = await alice.post("/account/deactivate", json={"auth": auth})
    assert resp.status_code == 200, resp.text
    device = Requester(alice.user_id, alice.device_id, is_admin=False)
    assert admin_actions(caplog)[-1] == (
        device,
        f"{alice.user_id} device {alice.device_id} deactivated {alice.user_id}",
    )


async def test_admin_methods_check_the_device_that_calls_them(
    hs: Homeserver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ADMIN_LOG)
    bob = await hs.register_user("bob")
    root = await hs.register_user("root", admin=True)
    accounts = hs.runtime.services.accounts
    tokens = hs.runtime.services.registration
    bobs_device = Requester(bob.user_id, bob.device_id, is_admin=False)
    roots_device = Requester(root.user_id, root.device_id, is_admin=True)
    caplog.clear()  # the two accounts above were made by the test's operator
    token = await tokens.create_token(roots_device, uses_allowed=1, expiry_ts=None)

    for refused in (
        accounts.create_user(bobs_device, "carol", PASSWORD, is_admin=False),
        accounts.list_users(bobs_device),
        accounts.deactivate(bobs_device, root.user_id),
        accounts.set_password(bobs_device, root.user_id, PASSWORD, keep_device_id=None),
        tokens.create_token(bobs_device, uses_allowed=None, expiry_ts=None),
        tokens.list_tokens(bobs_device),
        tokens.delete_token(bobs_device, token),
    ):
        with pytest.raises(MatrixError) as error:
            await refused
        assert (error.value.status, error.value.errcode) == (403, Errcode.FORBIDDEN)

    carol = await accounts.create_user(roots_device, "carol", PASSWORD, is_admin=False)
    assert [t.token for t in await tokens.list_tokens(roots_device)] == [token]
    await tokens.delete_token(roots_device, token)
    await accounts.deactivate(roots_device, carol)
    assert [actor for actor, _ in admin_actions(caplog)] == [roots_device] * 4
    assert (
        admin_actions(caplog)[1][1]
        == f"{root.user_id} device {root.device_id} created account {carol}"
    )


def test_cli_commands_act_as_an_operator(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO, logger=ADMIN_LOG)
    database = DatabaseConfig(url=f"sqlite:///{tmp_path / 'bastion.db'}")
    config_path = tmp_path / "bastion.toml"
    config_path.write_text(render_toml(make_config(tmp_path, database)), encoding="utf-8")
    config = ["--config", str(config_path)]

    def bastion(*argv: str, stdin: str = "") -> str:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        assert cli.main([*argv, *config]) == 0, capsys.readouterr().err
        return capsys.readouterr().out

    bastion("user", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    bastion("user", "reset-password", "alice", "--password-stdin", stdin=PASSWORD + "!\n")
    token = bastion("registration-token", "create").strip()
    assert token in bastion("registration-token", "list")
    bastion("registration-token", "delete", token)
    bastion("user", "deactivate", "alice")
    assert "@alice:test.bastion" in bastion("user", "list")

    operator = Operator(pwd.getpwuid(os.getuid()).pw_name)
    assert admin_actions(caplog) == [
        (operator, f"operator {operator.os_user} created account @alice:test.bastion"),
        (operator, f"operator {operator.os_user} reset the password of @alice:test.bastion"),
        (operator, f"operator {operator.os_user} created a registration token"),
        (operator, f"operator {operator.os_user} revoked a registration token"),
        (operator, f"operator {operator.os_user} deactivated @alice:test.bastion"),
    ]
