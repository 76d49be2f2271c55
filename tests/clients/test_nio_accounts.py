"""matrix-nio, a real Matrix client library, against the real server process.

Accounts are made the way an operator makes them (`bastion user create`), then nio logs in,
inspects its session and devices, and logs out over HTTP on 127.0.0.1.
"""

from __future__ import annotations

from nio import (
    AsyncClient,
    DevicesResponse,
    LoginError,
    LoginResponse,
    LogoutResponse,
    WhoamiError,
    WhoamiResponse,
)
from nio.responses import RegisterErrorResponse

from tests.clients.nio_fixtures import NioFactory
from tests.clients.server import PASSWORD, BastionServer

DEVICE_NAME = "Alice's nio laptop"


async def _login(client: AsyncClient, password: str = PASSWORD) -> LoginResponse:
    response = await client.login(password, device_name=DEVICE_NAME)
    assert isinstance(response, LoginResponse), response
    return response


async def test_login_whoami_devices_logout(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    alice = bastion_server.create_user("alice")
    client = nio_client("alice")

    login = await _login(client)
    assert login.user_id == alice == "@alice:test.bastion"
    assert login.device_id
    assert login.access_token
    assert client.access_token == login.access_token  # nio took the session

    whoami = await client.whoami()
    assert isinstance(whoami, WhoamiResponse), whoami
    assert whoami.user_id == alice
    assert whoami.device_id == login.device_id

    devices = await client.devices()
    assert isinstance(devices, DevicesResponse), devices
    by_id = {device.id: device for device in devices.devices}
    assert login.device_id in by_id
    assert by_id[login.device_id].display_name == DEVICE_NAME

    logout = await client.logout()
    assert isinstance(logout, LogoutResponse), logout

    # The token nio just gave up is dead on the server, not only forgotten by the client.
    client.restore_login(alice, login.device_id, login.access_token)
    after = await client.whoami()
    assert isinstance(after, WhoamiError), after
    assert after.status_code == "M_UNKNOWN_TOKEN"


async def test_logout_ends_only_that_session(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    alice = bastion_server.create_user("alice")
    laptop, phone = nio_client("alice"), nio_client("alice")
    laptop_login = await _login(laptop)
    phone_login = await _login(phone)
    assert laptop_login.device_id != phone_login.device_id

    assert isinstance(await laptop.logout(), LogoutResponse)

    still = await phone.whoami()
    assert isinstance(still, WhoamiResponse), still
    assert (still.user_id, still.device_id) == (alice, phone_login.device_id)
    devices = await phone.devices()
    assert isinstance(devices, DevicesResponse), devices
    assert {d.id for d in devices.devices} == {phone_login.device_id}


async def test_wrong_password_is_forbidden(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    bastion_server.create_user("alice")
    client = nio_client("alice")

    response = await client.login("not the password", device_name=DEVICE_NAME)

    assert isinstance(response, LoginError), response
    assert response.status_code == "M_FORBIDDEN"
    assert not client.access_token
    await _login(client)  # the right password still works afterwards


async def test_unknown_user_looks_like_wrong_password(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    response = await nio_client("nobody").login(PASSWORD, device_name=DEVICE_NAME)

    assert isinstance(response, LoginError), response
    assert response.status_code == "M_FORBIDDEN"


async def test_deactivated_account_cannot_log_in_and_loses_its_sessions(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    bastion_server.create_user("alice")
    session = nio_client("alice")
    await _login(session)
    assert isinstance(await session.whoami(), WhoamiResponse)

    result = bastion_server.cli("user", "deactivate", "alice")
    assert result.returncode == 0, result.stderr

    # The running server sees the CLI's change at once: the existing token is dead...
    whoami = await session.whoami()
    assert isinstance(whoami, WhoamiError), whoami
    assert whoami.status_code == "M_UNKNOWN_TOKEN"
    # ...and the right password no longer opens a new session.
    login = await nio_client("alice").login(PASSWORD, device_name=DEVICE_NAME)
    assert isinstance(login, LoginError), login
    assert login.status_code == "M_USER_DEACTIVATED"


async def test_register_is_refused_when_registration_is_disabled(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    client = nio_client("")

    response = await client.register("mallory", PASSWORD, device_name=DEVICE_NAME)

    assert isinstance(response, RegisterErrorResponse), response
    assert response.status_code == "M_FORBIDDEN"
    assert not client.access_token
    listed = bastion_server.cli("user", "list")
    assert listed.returncode == 0, listed.stderr
    assert "mallory" not in listed.stdout
