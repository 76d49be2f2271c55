"""The HTTP pusher worker against a real push gateway on 127.0.0.1 (tests/api/push_gateway.py):
the exact notify body (spec: push-gateway-api#post_matrixpushv1notify), event_id_only, retries
after a 5xx, giving up, rejected pushkeys, muted rooms, ignored senders, and restarts.

The worker is driven with `run_due()` and a FakeClock (no sleeping); one test runs it in the
background and waits, bounded, for the gateway to receive the request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest

from bastion.app import Runtime
from bastion.services.push.delivery.worker import PushDelivery
from bastion.workers.base import Supervisor
from bastion.workers.push_delivery import PushDeliveryWorker
from tests.api.push_gateway import NOTIFY_PATH, PushGateway, check_schema, running_gateway
from tests.conftest import Homeserver, UserClient

APP_ID = "org.example.chat.android"


@pytest.fixture
def gateway() -> Iterator[PushGateway]:
    yield from running_gateway()


@pytest.fixture
async def delivery(hs: Homeserver) -> AsyncIterator[PushDelivery]:
    worker = hs.runtime.services.push_delivery
    yield worker
    await worker.stop()


async def set_pusher(
    user: UserClient, gateway: PushGateway, pushkey: str, *, event_id_only: bool = False
) -> None:
    data: dict[str, Any] = {"url": gateway.url, "client_hint": "abc"}
    if event_id_only:
        data["format"] = "event_id_only"
    body = {
        "kind": "http", "app_id": APP_ID, "pushkey": pushkey, "app_display_name": "Chat",
        "device_display_name": "Phone", "lang": "en", "data": data,
    }  # fmt: skip
    resp = await user.post("/pushers/set", json=body)
    assert resp.status_code == 200, resp.text


async def team_room(hs: Homeserver) -> tuple[UserClient, UserClient, UserClient, str]:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="public_chat", name="Ops")
    await bob.join(room_id)
    await carol.join(room_id)
    return alice, bob, carol, room_id


async def test_gateway_receives_the_spec_notify_body(
    hs: Homeserver, gateway: PushGateway, delivery: PushDelivery
) -> None:
    """'This endpoint is invoked by HTTP pushers to notify a push gateway about an event'; the
    device's data is 'the data dictionary passed in at pusher creation minus the url key'."""
    alice, bob, _carol, room_id = await team_room(hs)
    await set_pusher(bob, gateway, "bob-key")
    event_id = await alice.send_text(room_id, "the deploy is done")
    await delivery.run_due()

    assert gateway.paths == [NOTIFY_PATH]
    [body] = gateway.bodies
    check_schema(body)
    assert body == {
        "notification": {
            "event_id": event_id,
            "room_id": room_id,
            "type": "m.room.message",
            "sender": alice.user_id,
            "sender_display_name": "alice",
            "room_name": "Ops",
            "prio": "low",
            "content": {"msgtype": "m.text", "body": "the deploy is done"},
            "counts": {"unread": 1},
            "devices": [
                {
                    "app_id": APP_ID,
                    "pushkey": "bob-key",
                    "pushkey_ts": hs.clock.now_ms() // 1000,
                    "data": {"client_hint": "abc"},
                    "tweaks": {},
                }
            ],
        }
    }
    await delivery.run_due()
    assert len(gateway.bodies) == 1  # delivered once


async def test_event_id_only_sends_no_content(
    hs: Homeserver, gateway: PushGateway, delivery: PushDelivery
) -> None:
    """`format: event_id_only`: the gateway gets the event and room IDs, counts, priority and
    the device, never the content, sender or room name. A mention highlights with a sound:
    high priority."""
    alice, bob, _carol, room_id = await team_room(hs)
    await set_pusher(bob, gateway, "bob-key", event_id_only=True)
    content = {"msgtype": "m.text", "body": "bob?", "m.mentions": {"user_ids": [bob.user_id]}}
    resp = await alice.put(f"/rooms/{room_id}/send/m.room.message/t1", json=content)
    event_id = resp.json()["event_id"]
    await delivery.run_due()

    [body] = gateway.bodies
    check_schema(body)
    assert body == {
        "notification": {
            "event_id": event_id,
            "room_id": room_id,
            "prio": "high",
            "counts": {"unread": 1},
            "devices": [
                {
                    "app_id": APP_ID,
                    "pushkey": "bob-key",
                    "pushkey_ts": hs.clock.now_ms() // 1000,
                    "data": {"client_hint": "abc", "format": "event_id_only"},
                    "tweaks": {"sound": "default", "highlight": True},
                }
            ],
        }
    }


async def test_retries_after_a_5xx_with_backoff(
    hs: Homeserver, gateway: PushGateway, delivery: PushDelivery
) -> None:
    """A gateway failure is retried later, with backoff, and then delivered once."""
    alice, bob, _carol, room_id = await team_room(hs)
    await set_pusher(bob, gateway, "bob-key")
    gateway.answer(500)
    first = await alice.send_text(room_id, "one")
    await delivery.run_due()
    assert [b["notification"]["event_id"] for b in gateway.bodies] == [first]

    second = await alice.send_text(room_id, "two")
    await delivery.run_due()  # still backing off: nothing sent, nothing skipped
    assert len(gateway.bodies) == 1
    hs.clock.advance(1)
    await delivery.run_due()
    assert [b["notification"]["event_id"] for b in gateway.bodies] == [first, first, second]
    await delivery.run_due()
    assert len(gateway.bodies) == 3


async def test_gives_up_on_a_notification_after_the_bound(
    hs: Homeserver, gateway: PushGateway, delivery: PushDelivery
) -> None:
    """A notification that keeps failing is skipped after `give_up_after_seconds` (a day);
    later ones still go out."""
    alice, bob, _carol, room_id = await team_room(hs)
    await set_pusher(bob, gateway, "bob-key")
    for _ in range(3):
        gateway.answer(503)
    doomed = await alice.send_text(room_id, "lost")
    await delivery.run_due()
    hs.clock.advance(86_400)
    await delivery.run_due()  # the second failure is past the bound: skipped
    later = await alice.send_text(room_id, "later")
    hs.clock.advance(3_600)
    await delivery.run_due()
    sent = [b["notification"]["event_id"] for b in gateway.bodies]
    assert sent == [doomed, doomed, later]
    assert len(gateway.bodies) == 3


async def test_rejected_pushkey_removes_the_pusher(
    hs: Homeserver, gateway: PushGateway, delivery: PushDelivery
) -> None:
    """'Homeservers must cease sending notification requests for these pushkeys and remove the
    associated pushers.'"""
    alice, bob, _carol, room_id = await team_room(hs)
    await set_pusher(bob, gateway, "bob-key")
    gateway.answer(200, {"rejected": ["bob-key"]})
    await alice.send_text(room_id, "one")
    await delivery.run_due()
    assert (await bob.get("/pushers")).json() == {"pushers": []}
    await alice.send_text(room_id, "two")
    await delivery.run_due()
    assert len(gateway.bodies) == 1


async def test_nothing_for_a_muted_room_an_ignored_sender_or_oneself(
    hs: Homeserver, gateway: PushGateway, delivery: PushDelivery
) -> None:
    """'If no rules match an event, the homeserver MUST NOT notify the Push Gateway for that
    event. Homeservers MUST NOT notify the Push Gateway for events that the user has sent
    themselves.' Ignored users' events never notify the ignorer."""
    alice, bob, carol, room_id = await team_room(hs)
    await set_pusher(bob, gateway, "bob-key")
    await set_pusher(carol, gateway, "carol-key")
    muted = await bob.put(f"/pushrules/global/room/{room_id}", json={"actions": []})
    assert muted.status_code == 200, muted.text
    ignore = {"ignored_users": {alice.user_id: {}}}
    resp = await carol.put(f"/user/{carol.user_id}/account_data/m.ignored_user_list", json=ignore)
    assert resp.status_code == 200, resp.text
    await alice.send_text(room_id, "nobody is pushed")
    await bob.send_text(room_id, "bob's own message")
    await delivery.run_due()
    # Carol hears Bob (not ignored); Bob hears nothing: the room is muted, the message his own.
    assert [(b["notification"]["sender"], b["notification"]["devices"][0]["pushkey"])
            for b in gateway.bodies] == [(bob.user_id, "carol-key")]  # fmt: skip


async def test_restart_resumes_without_duplicates_or_loss(
    hs: Homeserver, gateway: PushGateway, delivery: PushDelivery
) -> None:
    """Progress is stored per pusher: after a restart the worker sends what the previous run
    had not delivered, and nothing it had."""
    alice, bob, _carol, room_id = await team_room(hs)
    await set_pusher(bob, gateway, "bob-key")
    first = await alice.send_text(room_id, "one")
    await delivery.run_due()
    gateway.answer(502)
    second = await alice.send_text(room_id, "two")
    await delivery.run_due()
    await delivery.stop()  # the process goes away with "two" undelivered

    restarted = await Runtime.open(hs.runtime.config, hs.clock)
    try:
        await restarted.services.push_delivery.run_due()
        await restarted.services.push_delivery.stop()
    finally:
        await restarted.close()
    assert [b["notification"]["event_id"] for b in gateway.bodies] == [first, second, second]


async def test_background_worker_is_woken_after_commit(
    hs: Homeserver, gateway: PushGateway, delivery: PushDelivery
) -> None:
    """The serving app's worker pushes a notifying event as soon as it is committed."""
    alice, bob, _carol, room_id = await team_room(hs)
    await set_pusher(bob, gateway, "bob-key")
    worker = Supervisor(PushDeliveryWorker(delivery), hs.clock)
    worker.start()
    try:
        event_id = await alice.send_text(room_id, "wake up")
        bodies = await gateway.received(1)
    finally:
        await worker.stop()
    assert [b["notification"]["event_id"] for b in bodies] == [event_id]


async def test_narrowed_allowlist_stops_existing_pushers(
    hs: Homeserver, gateway: PushGateway, delivery: PushDelivery
) -> None:
    """`[push] allowed_gateway_urls` is checked before every request, not only when a pusher is
    set: after an admin removes a gateway, nothing more goes to it."""
    alice, bob, _carol, room_id = await team_room(hs)
    await set_pusher(bob, gateway, "bob-key")
    await alice.send_text(room_id, "stays here")
    config = hs.runtime.config
    narrowed = msgspec.structs.replace(
        config, push=msgspec.structs.replace(config.push, allowed_gateway_urls=("matrix.org",))
    )
    restarted = await Runtime.open(narrowed, hs.clock)
    try:
        await restarted.services.push_delivery.run_due()
        await restarted.services.push_delivery.stop()
    finally:
        await restarted.close()
    assert gateway.bodies == []
    assert len((await bob.get("/pushers")).json()["pushers"]) == 1
