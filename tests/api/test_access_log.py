"""The access log and the client address behind trusted reverse proxies, through the real app.

The test transport's peer address is 203.0.113.7 (tests/conftest.py); here it plays the proxy.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from bastion.config import ListenConfig, LoggingConfig, RateLimit, RateLimitsConfig
from tests.conftest import (
    PASSWORD,
    Homeserver,
    errcode,
    homeserver_with,
)

PEER = "203.0.113.7"
WHOAMI = "/_matrix/client/v3/account/whoami"
ACCESS = "bastion.access"


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ACCESS]


async def test_each_request_is_logged_with_its_user(
    hs: Homeserver, caplog: pytest.LogCaptureFixture
) -> None:
    """A request log with method, path, status, time and user; on by default at INFO."""
    alice = await hs.register_user("alice")
    with caplog.at_level(logging.INFO, logger=ACCESS):
        await alice.get(WHOAMI)
        await hs.http.get(WHOAMI)
        await hs.http.get(f"{WHOAMI}?access_token={alice.token}&x=1")
    ok, anonymous, query = access_lines(caplog)
    assert ok.startswith(f'{PEER} "GET {WHOAMI}" 200 ')
    assert ok.endswith(f"ms {alice.user_id}")
    assert anonymous.startswith(f'{PEER} "GET {WHOAMI}" 401 ')
    assert anonymous.endswith("ms -")
    assert f"{WHOAMI}?access_token=<redacted>&x=1" in query
    # Never the token, whether it came in the Authorization header or the query string.
    assert alice.token not in caplog.text


async def test_access_log_can_be_turned_off(
    tmp_path: Path, database_config: Any, caplog: pytest.LogCaptureFixture
) -> None:
    quiet = LoggingConfig(access_log=False)
    async with homeserver_with(tmp_path, database_config, logging=quiet) as hs:
        with caplog.at_level(logging.INFO, logger=ACCESS):
            await hs.http.get("/_matrix/client/versions")
    assert access_lines(caplog) == []


def _one_login_per_address() -> dict[str, Any]:
    return {
        "listen": ListenConfig(trusted_proxies=(PEER,)),
        "rate_limits": RateLimitsConfig(login_per_ip=RateLimit(per_second=0.001, burst=1)),
    }


async def _login(hs: Homeserver, forwarded_for: str) -> httpx.Response:
    return await hs.http.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "alice", "password": PASSWORD},
        headers={"X-Forwarded-For": forwarded_for},
    )


async def test_login_limit_counts_the_client_behind_a_trusted_proxy(
    tmp_path: Path, database_config: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind the proxy every client has the proxy's address: the per-address login limit must
    see the real client, and so must the access log."""
    async with homeserver_with(tmp_path, database_config, **_one_login_per_address()) as hs:
        await hs.create_user("alice")
        with caplog.at_level(logging.INFO, logger=ACCESS):
            assert (await _login(hs, "198.51.100.1")).status_code == 200
        assert errcode(await _login(hs, "198.51.100.1")) == (429, "M_LIMIT_EXCEEDED")
        assert (await _login(hs, "198.51.100.2")).status_code == 200  # a colleague
        # A client writing its own X-Forwarded-For cannot escape its bucket: the proxy appends
        # the address it saw, and only the right-most untrusted entry counts.
        spoofed = await _login(hs, "192.0.2.99, 198.51.100.1")
        assert errcode(spoofed) == (429, "M_LIMIT_EXCEEDED")
    assert access_lines(caplog)[0].startswith('198.51.100.1 "POST /_matrix/client/v3/login" 200')


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    tmp_path: Path, database_config: Any
) -> None:
    overrides = _one_login_per_address() | {"listen": ListenConfig(trusted_proxies=("10.0.0.1",))}
    async with homeserver_with(tmp_path, database_config, **overrides) as hs:
        await hs.create_user("alice")
        assert (await _login(hs, "198.51.100.1")).status_code == 200
        # Another made-up address does not give the same peer a fresh bucket.
        assert errcode(await _login(hs, "198.51.100.2")) == (429, "M_LIMIT_EXCEEDED")
