"""The sliding-sync `to_device` extension (MSC3885), through the extension itself."""

from __future__ import annotations

import pytest

from bastion.errors import MatrixError
from tests.api.sliding_sync.extension_harness import ExtensionSession
from tests.conftest import Homeserver, UserClient


async def send_to(sender: UserClient, recipient: UserClient, txn_id: str, n: int) -> None:
    body = {"messages": {recipient.user_id: {recipient.device_id: {"n": n}}}}
    resp = await sender.put(f"/sendToDevice/m.test/{txn_id}", json=body)
    assert resp.status_code == 200, resp.text


def numbers(payload: dict[str, object]) -> list[object]:
    events = payload["events"]
    assert isinstance(events, list)
    return [event["content"]["n"] for event in events]


async def test_messages_are_acknowledged_only_by_since(hs: Homeserver) -> None:
    """MSC3885: "The `events` are treated as "acknowledged" when the server receives a new
    request with the `since` value set to the previous response's `next_batch` value. When this
    occurs, acknowledged events are permanently deleted from the server, and MUST NOT be
    returned to the client should another request with an older `since` value be sent."
    "If a response is lost, the client will retry the request with the same `since` value."
    """
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    session = ExtensionSession(hs, bob, "to_device")
    await send_to(alice, bob, "t1", 1)
    await send_to(alice, bob, "t2", 2)

    first = await session.build({})
    assert first is not None
    assert first.news
    assert numbers(first.payload) == [1, 2]
    # The response is lost: the client repeats its old `since` (none) and gets them again,
    # with what arrived meanwhile.
    await send_to(alice, bob, "t3", 3)
    again = await session.retry({})
    assert again is not None
    assert numbers(again.payload) == [1, 2, 3]
    token = again.payload["next_batch"]
    assert isinstance(token, str)

    acknowledged = await session.build({"since": token})
    assert acknowledged is not None
    assert not acknowledged.news
    assert acknowledged.payload["events"] == []
    # Deleted for good: an older `since` brings nothing back.
    older = await session.build({})
    assert older is not None
    assert older.payload["events"] == []


async def test_limit_is_respected_and_the_rest_follows(hs: Homeserver) -> None:
    """MSC3885: "The server MUST NOT send more than `limit` events: it may send less than
    `limit` events if the value provided was too large." and `next_batch` is "REQUIRED: even
    if no changes"."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    session = ExtensionSession(hs, bob, "to_device")
    for n in range(3):
        await send_to(alice, bob, f"t{n}", n)

    first = await session.build({"limit": 2})
    assert first is not None
    assert numbers(first.payload) == [0, 1]
    second = await session.build({"limit": 2, "since": first.payload["next_batch"]})
    assert second is not None
    assert numbers(second.payload) == [2]
    third = await session.build({"limit": 2, "since": second.payload["next_batch"]})
    assert third is not None
    assert not third.news
    assert third.payload["events"] == []
    assert isinstance(third.payload["next_batch"], str)
    nothing = await session.build({"limit": 0, "since": third.payload["next_batch"]})
    assert nothing is not None
    assert nothing.payload["events"] == []


async def test_messages_are_per_device_and_a_future_since_deletes_nothing(
    hs: Homeserver,
) -> None:
    """MSC3885: the events are those of "the current `/sync` implementation": each device has
    its own; a `since` beyond what the server has reached acknowledges nothing not yet sent."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    bob_laptop = await hs.login("bob")
    await send_to(alice, bob, "t1", 1)
    future = str(hs.runtime.positions.persisted_upto() + 1000)

    ahead = await ExtensionSession(hs, bob, "to_device").build({"since": future})
    assert ahead is not None
    assert ahead.payload == {"next_batch": future, "events": []}
    later = await ExtensionSession(hs, bob, "to_device").build({})
    assert later is not None
    assert numbers(later.payload) == [1]
    laptop = await ExtensionSession(hs, bob_laptop, "to_device").build({})
    assert laptop is not None
    assert laptop.payload["events"] == []


async def test_a_since_not_of_ours_starts_from_the_start(hs: Homeserver) -> None:
    """MSC3885: "If a response is lost, the client will retry the request with the same `since`
    value": messages go only once acknowledged, so a `since` the server cannot read (a restored
    client store) is read as none: the client gets what is pending, not a 400 that
    matrix-rust-sdk would repeat forever (it resets only on M_UNKNOWN_POS)."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    await send_to(alice, bob, "t1", 1)
    for since in ("s12", "garbage", "9" * 40):
        result = await ExtensionSession(hs, bob, "to_device").build({"since": since})
        assert result is not None
        assert numbers(result.payload) == [1]


@pytest.mark.parametrize(
    ("request_body", "expected"),
    [
        ({"since": 12}, "M_BAD_JSON"),
        ({"limit": -1}, "M_BAD_JSON"),
        ({"limit": "10"}, "M_BAD_JSON"),
    ],
)
async def test_malformed_requests_are_matrix_errors(
    hs: Homeserver, request_body: dict[str, object], expected: str
) -> None:
    """MSC3885: `since` is a token the server gave as `next_batch`, `limit` a number."""
    bob = await hs.register_user("bob")
    with pytest.raises(MatrixError) as raised:
        await ExtensionSession(hs, bob, "to_device").build(request_body)
    assert (raised.value.status, raised.value.errcode) == (400, expected)
