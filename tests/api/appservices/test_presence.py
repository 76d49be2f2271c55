"""Presence in application service transactions (spec v1.13, application-service-api
"Pushing ephemeral data"): `m.presence` "MUST be sent to the application service if the data
would apply contextually. For example, a presence update for a user an application service
shares a room with, or matching one of the application service's namespaces." The `bridge`
registration asks for ephemeral data with MSC2409's `push_ephemeral`; `wants_ephemeral` and
`presence_enabled` below change that for one test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bastion.config import PresenceConfig
from bastion.services.appservices import ephemeral
from bastion.services.appservices.client import Refused
from tests.api.appservice_fixtures import ActingService, appservice_config
from tests.api.appservice_server import FakeAppService
from tests.api.appservices.test_delivery import GHOST, bridge, bridged_room, drain, ephemeral_of
from tests.clients.test_mautrix_bot import until
from tests.conftest import Homeserver, UserClient

LONE_GHOST = "@_bridge_bob:test.bastion"  # in the namespace, in no room


@pytest.fixture
def wants_ephemeral() -> bool:
    return True


@pytest.fixture
def presence_enabled() -> bool:
    return True


@pytest.fixture
def config_overrides(
    tmp_path: Path, appservice: FakeAppService, wants_ephemeral: bool, presence_enabled: bool
) -> dict[str, Any]:
    overrides = appservice_config(tmp_path, appservice.url)
    if not wants_ephemeral:
        path = tmp_path / "bridge.yaml"
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
        del body["de.sorunome.msc2409.push_ephemeral"]
        path.write_text(yaml.safe_dump(body), encoding="utf-8")
    if not presence_enabled:
        overrides["presence"] = PresenceConfig(enabled=False)
    return overrides


async def set_presence(user: UserClient, presence: str, status_msg: str | None = None) -> None:
    body: dict[str, Any] = {"presence": presence}
    if status_msg is not None:
        body["status_msg"] = status_msg
    resp = await user.put(f"/presence/{user.user_id}/status", json=body)
    assert resp.status_code == 200, resp.text


async def set_ghost_presence(hs: Homeserver, user_id: str, presence: str) -> None:
    resp = await ActingService(hs.http).request(
        "PUT", f"/presence/{user_id}/status", user_id=user_id, json={"presence": presence}
    )
    assert resp.status_code == 200, resp.text


async def register_ghost(hs: Homeserver, localpart: str) -> None:
    resp = await ActingService(hs.http).register(localpart, inhibit_login=True)
    assert resp.status_code == 200, resp.text


def presence_of(appservice: FakeAppService) -> dict[str, list[dict[str, Any]]]:
    """sender -> the contents of the m.presence events the service received, in order."""
    found: dict[str, list[dict[str, Any]]] = {}
    for event in ephemeral_of(appservice, "m.presence"):
        assert set(event) == {"type", "sender", "content"}  # no room_id: not room-scoped
        found.setdefault(event["sender"], []).append(event["content"])
    return found


async def test_presence_of_users_of_interest_reaches_the_service(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    """A user sharing a room with the service's user, and users of its namespaces (one in no
    room at all), are sent; a user sharing nothing with it is not."""
    human, _ = await bridged_room(hs)
    stranger = await hs.register_user("stranger")
    await register_ghost(hs, "_bridge_bob")
    await drain(hs)
    await set_presence(human, "unavailable", "brb")
    await set_presence(stranger, "online", "not for the bridge")
    await set_ghost_presence(hs, GHOST, "online")
    await set_ghost_presence(hs, LONE_GHOST, "unavailable")
    await drain(hs)
    seen = presence_of(appservice)
    assert set(seen) == {human.user_id, GHOST, LONE_GHOST}
    latest = seen[human.user_id][-1]
    assert latest["presence"] == "unavailable"
    assert latest["status_msg"] == "brb"
    assert latest["currently_active"] is False
    assert latest["last_active_ago"] >= 0
    assert seen[GHOST][-1]["presence"] == "online"
    assert seen[GHOST][-1]["currently_active"] is True
    assert seen[LONE_GHOST][-1]["presence"] == "unavailable"
    # each change is carried once: the position passed is not read again
    await drain(hs)
    assert len(ephemeral_of(appservice, "m.presence")) == 3


async def test_a_retried_transaction_carries_the_same_presence(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    """The spec: homeservers "MUST NOT alter (e.g. add more) events they were going to send
    within that transaction ID on retries": the presence (its `last_active_ago` included) is
    the one stored with the transaction, and a change made meanwhile goes in the next one."""
    human, _ = await bridged_room(hs)
    await drain(hs)
    delivery, registration = bridge(hs)
    before = len(appservice.transactions())
    await set_presence(human, "online", "first")
    appservice.answer(500, {"errcode": "M_UNKNOWN"})
    with pytest.raises(Refused):
        await delivery.step(registration)
    hs.clock.advance(30)  # a fresh build would say a larger last_active_ago
    await set_presence(human, "unavailable", "second")
    await drain(hs)
    sent = appservice.transactions()[before:]
    assert len(sent) == 3
    assert sent[0].path == sent[1].path
    assert sent[0].body == sent[1].body
    statuses = [
        e["content"]["status_msg"] for t in sent for e in t.body.get("ephemeral", [])
        if e["type"] == "m.presence"
    ]  # fmt: skip
    assert statuses == ["first", "first", "second"]


async def test_a_presence_change_wakes_the_background_loop(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    human, _ = await bridged_room(hs)
    delivery, _ = bridge(hs)
    delivery.dispatch()
    try:
        await set_presence(human, "online", "live")
        await until(
            lambda: any(
                c.get("status_msg") == "live"
                for c in presence_of(appservice).get(human.user_id, [])
            ),
            "the live presence",
        )
    finally:
        await delivery.stop()


async def test_many_changes_are_split_across_transactions_none_lost(
    hs: Homeserver, appservice: FakeAppService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More changes than one transaction carries: the window ends at the last one carried and
    the next transaction starts after it."""
    monkeypatch.setattr(ephemeral, "PRESENCE_AT_MOST", 2)
    await drain(hs)
    ghosts = [f"@_bridge_g{i}:test.bastion" for i in range(5)]
    for user_id in ghosts:
        await register_ghost(hs, user_id.split(":")[0][1:])
        await set_ghost_presence(hs, user_id, "online")
    before = len(appservice.transactions())
    await drain(hs)
    sent = appservice.transactions()[before:]
    carried = [
        [e["sender"] for e in t.body.get("ephemeral", []) if e["type"] == "m.presence"]
        for t in sent
    ]
    assert [user for batch in carried for user in batch] == ghosts  # in stream order, once each
    assert max(len(batch) for batch in carried) == 2


@pytest.mark.parametrize("wants_ephemeral", [False])
async def test_a_service_without_receive_ephemeral_gets_no_presence(
    hs: Homeserver, appservice: FakeAppService
) -> None:
    """Ephemeral data is sent only "if the `receive_ephemeral` settings is enabled"."""
    human, room_id = await bridged_room(hs)
    await set_presence(human, "online", "hidden")
    await set_ghost_presence(hs, GHOST, "online")
    await human.send_text(room_id, "an event, so a transaction goes out")
    await drain(hs)
    assert appservice.transactions()
    assert all("ephemeral" not in t.body for t in appservice.transactions())


@pytest.mark.parametrize("presence_enabled", [False])
async def test_presence_disabled_sends_none(hs: Homeserver, appservice: FakeAppService) -> None:
    """`[presence] enabled = false`: nothing stored, so nothing sent (receipts still are)."""
    human, room_id = await bridged_room(hs)
    await set_presence(human, "online", "hidden")
    await set_ghost_presence(hs, GHOST, "online")
    event_id = await human.send_text(room_id, "read me")
    assert (
        await human.post(f"/rooms/{room_id}/receipt/m.read/{event_id}", json={})
    ).status_code == 200
    await drain(hs)
    assert ephemeral_of(appservice, "m.receipt")
    assert presence_of(appservice) == {}
