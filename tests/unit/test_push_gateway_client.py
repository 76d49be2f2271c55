"""The push gateway client and allowlist without a network: httpx.MockTransport answers."""

from __future__ import annotations

import httpx
import pytest

from bastion.errors import MatrixError
from bastion.services.push.delivery.gateway import GatewayClient, Outcome
from bastion.services.push.gateways import GatewayPolicy

URL = "https://push.example.org/_matrix/push/v1/notify"
POLICY = GatewayPolicy(("push.example.org",))


def client(handler: httpx.MockTransport) -> GatewayClient:
    return GatewayClient(POLICY, 5.0, transport=handler)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, Outcome.DELIVERED), (500, Outcome.RETRY), (503, Outcome.RETRY),
     (429, Outcome.RETRY), (400, Outcome.REFUSED), (404, Outcome.REFUSED),
     (302, Outcome.REFUSED)],
)  # fmt: skip
async def test_status_decides_the_outcome(status: int, outcome: Outcome) -> None:
    """5xx and 429 are retried; other failures cannot get better; redirects are not followed."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"Location": "https://elsewhere.example.net/"} if status == 302 else {}
        return httpx.Response(status, json={"rejected": []}, headers=headers)

    gateway = client(httpx.MockTransport(answer))
    result = await gateway.notify(URL, {"notification": {"devices": []}})
    await gateway.close()
    assert result.outcome is outcome
    assert [str(r.url) for r in seen] == [URL]
    assert seen[0].headers["content-type"] == "application/json"


async def test_rejected_pushkeys_are_returned() -> None:
    """'rejected: A list of all pushkeys given in the notification request that are not
    valid.'"""
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json={"rejected": ["k1", 7]}))
    gateway = client(transport)
    result = await gateway.notify(URL, {"notification": {"devices": []}})
    await gateway.close()
    assert result.outcome is Outcome.DELIVERED
    assert result.rejected == ("k1",)


async def test_connection_failure_is_retried() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    gateway = client(httpx.MockTransport(fail))
    result = await gateway.notify(URL, {"notification": {"devices": []}})
    await gateway.close()
    assert result.outcome is Outcome.RETRY


def test_allowlist_hosts_wildcards_and_exact_urls() -> None:
    """Entries are hosts, *.domain wildcards or exact URLs; https except on loopback."""
    policy = GatewayPolicy(
        ("matrix.org", "*.corp.example", "https://one.example/_matrix/push/v1/notify", "::1")
    )
    allowed = [
        "https://matrix.org/_matrix/push/v1/notify",
        "https://MATRIX.org:8443/_matrix/push/v1/notify",
        "https://push.corp.example/_matrix/push/v1/notify",
        "https://one.example/_matrix/push/v1/notify",
        "http://[::1]:8080/_matrix/push/v1/notify",
    ]
    refused = [
        "https://evilmatrix.org/_matrix/push/v1/notify",
        "https://corp.example.evil/_matrix/push/v1/notify",
        "https://one.example:444/_matrix/push/v1/notify",
        "http://matrix.org/_matrix/push/v1/notify",
        "http://127.0.0.1/_matrix/push/v1/notify",
        "https://matrix.org/_matrix/push/v1/notify/extra",
        "https://matrix.org:bad/_matrix/push/v1/notify",
    ]
    assert [u for u in allowed if policy.allows(u)] == allowed
    assert [u for u in refused if policy.allows(u)] == []
    with pytest.raises(MatrixError) as refusal:
        policy.check("https://evilmatrix.org/_matrix/push/v1/notify")
    assert "evilmatrix.org" in refusal.value.message
