"""An application service reached over `https://` (services/appservices/client.py): a bridge on
another machine, with a certificate from the organisation's own authority, is trusted once the
operator names that authority in `SSL_CERT_FILE` (docs/subsystems/appservices.md), and one
whose certificate this server cannot verify is never sent the `hs_token`: the call fails as if
unreachable.

A test authority (tests/tls_authority.py) signs the service's certificate for 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.appservice_fixtures import HS_TOKEN, ActingService, appservice_config
from tests.api.appservice_server import FakeAppService, running_appservice
from tests.conftest import Homeserver, errcode
from tests.tls_authority import Authority, make_authority, trust_only

PING = "/_matrix/client/v1/appservice/bridge/ping"


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return make_authority(tmp_path, addresses=("127.0.0.1",))


@pytest.fixture
def appservice(authority: Authority) -> Iterator[FakeAppService]:
    yield from running_appservice(authority.server_context)


@pytest.fixture
def trusted(authority: Authority, monkeypatch: pytest.MonkeyPatch) -> None:
    trust_only(monkeypatch, authority.ca_file)


@pytest.fixture
def config_overrides(tmp_path: Path, appservice: FakeAppService, trusted: None) -> dict[str, Any]:
    # The variable is set before the homeserver (and its client) starts, as in production.
    assert appservice.url.startswith("https://127.0.0.1:")
    return appservice_config(tmp_path, appservice.url)


async def test_a_service_whose_authority_is_named_is_reached(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    resp = await ActingService(hs.http).request("POST", PING, json={"transaction_id": "tls"})

    assert resp.status_code == 200, resp.text
    ping = appservice.requests[-1]
    assert (ping.path, ping.body) == ("/_matrix/app/v1/ping", {"transaction_id": "tls"})
    assert ping.authorization == f"Bearer {HS_TOKEN}"


class TestUnknownAuthority:
    """Without `SSL_CERT_FILE` the service's authority is not one this server trusts."""

    @pytest.fixture
    def trusted(self, monkeypatch: pytest.MonkeyPatch) -> None:
        trust_only(monkeypatch, None)

    async def test_a_service_that_cannot_be_verified_is_never_sent_the_token(
        self, hs: Homeserver, appservice: FakeAppService
    ) -> None:
        resp = await ActingService(hs.http).request("POST", PING, json={})

        assert errcode(resp) == (502, "M_CONNECTION_FAILED")
        assert appservice.requests == []  # the handshake failed: nothing was sent
