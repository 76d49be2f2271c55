"""Acknowledged writes survive the server process dying with `kill -9`.

`database.sqlite_synchronous = "normal"` (the default `bastion init` writes) promises exactly this:
once the server has answered 200, the change is in the SQLite WAL and a crash of the process
cannot lose it.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.clients.server import PASSWORD, BastionServer

CLIENT = "/_matrix/client/v3"


@pytest.fixture
def http(bastion_server: BastionServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bastion_server.base_url, timeout=10.0, trust_env=False) as client:
        yield client


def _login(http: httpx.Client, localpart: str, password: str = PASSWORD) -> httpx.Response:
    return http.post(
        f"{CLIENT}/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
        },
    )


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_acknowledged_writes_survive_kill_9(
    bastion_server: BastionServer, http: httpx.Client
) -> None:
    alice = bastion_server.create_user("alice")
    login = _login(http, "alice")
    assert login.status_code == 200, login.text
    token, device_id = login.json()["access_token"], login.json()["device_id"]
    displayname_path = f"{CLIENT}/profile/{quote(alice)}/displayname"

    changed = http.put(
        displayname_path, json={"displayname": "Alice Liddell"}, headers=_auth(token)
    )
    assert changed.status_code == 200, changed.text

    # No graceful shutdown: SIGKILL straight after the acknowledgement.
    old_pid = bastion_server.process.pid if bastion_server.process else None
    assert bastion_server.kill() == -9
    bastion_server.start()
    assert bastion_server.process is not None
    assert bastion_server.process.pid != old_pid

    whoami = http.get(f"{CLIENT}/account/whoami", headers=_auth(token))
    assert whoami.status_code == 200, whoami.text
    assert whoami.json()["user_id"] == alice
    assert whoami.json()["device_id"] == device_id
    name = http.get(displayname_path, headers=_auth(token))
    assert name.status_code == 200, name.text
    assert name.json() == {"displayname": "Alice Liddell"}


def test_logout_survives_kill_9(bastion_server: BastionServer, http: httpx.Client) -> None:
    bastion_server.create_user("alice")
    login = _login(http, "alice")
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    assert http.post(f"{CLIENT}/logout", json={}, headers=_auth(token)).status_code == 200

    bastion_server.restart(kill=True)

    whoami = http.get(f"{CLIENT}/account/whoami", headers=_auth(token))
    assert whoami.status_code == 401, whoami.text
    assert whoami.json()["errcode"] == "M_UNKNOWN_TOKEN"


def test_user_created_while_server_is_down_can_log_in_after_restart(
    bastion_server: BastionServer, http: httpx.Client
) -> None:
    bastion_server.kill()

    bob = bastion_server.create_user("bob", "bob's long password")
    bastion_server.start()

    login = _login(http, "bob", "bob's long password")
    assert login.status_code == 200, login.text
    assert login.json()["user_id"] == bob
    whoami = http.get(f"{CLIENT}/account/whoami", headers=_auth(login.json()["access_token"]))
    assert whoami.status_code == 200, whoami.text
    assert whoami.json()["user_id"] == bob
