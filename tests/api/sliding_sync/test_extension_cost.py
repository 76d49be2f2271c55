"""What the `room-list` connection's extensions (account_data, receipts, typing) cost on a woken
request with nothing new for them, and that what arrives while the long-poll is parked still
arrives (issue 14: "a woken request cheaper than a woken /sync")."""

from __future__ import annotations

import asyncio
import tracemalloc
from typing import Any

from bastion.services.principal import Requester
from bastion.services.sliding_sync.extensions.base import (
    ExtensionContext,
    ExtensionResult,
    ExtensionScope,
)
from bastion.store.sql.sync_probe import SqlSyncProbeStore
from tests.api.sliding_sync.extension_harness import extensions_of
from tests.api.sliding_sync.sliding_client import SlidingClient
from tests.api.sliding_sync.test_extension_endpoints import room_list_request
from tests.conftest import Homeserver, UserClient

ROOM_LIST = ("account_data", "receipts", "typing")


class Window:
    """One connection's previous response, as the extensions see it: its `pos` (stream and
    typing serial) and its scope, whose selections its extensions already computed."""

    def __init__(self, hs: Homeserver, user: UserClient, scope: ExtensionScope) -> None:
        self.hs = hs
        self.requester = Requester(user.user_id, user.device_id, False)
        self.since = hs.runtime.positions.persisted_upto()
        self.since_ephemeral = hs.runtime.services.typing.serial
        self.scope = scope
        scope.selected(None, None)

    async def context(self, scope: ExtensionScope) -> ExtensionContext:
        """The next response's window, with /sync's probe of it (as an incremental plan has)."""
        upto = self.hs.runtime.positions.persisted_upto()
        probe = await SqlSyncProbeStore().probe(
            self.hs.runtime.db, self.requester.user_id, self.requester.device_id,
            after=self.since, upto=upto,
        )  # fmt: skip
        serial = self.hs.runtime.services.typing.serial
        return ExtensionContext(
            self.requester, self.since, upto, self.since_ephemeral, serial, scope,
            previous_scope=self.scope, news=probe.news,
        )  # fmt: skip


async def _build_all(
    hs: Homeserver, context: ExtensionContext
) -> tuple[dict[str, ExtensionResult | None], int]:
    """Each room-list extension's answer, and the most memory the three held at once."""
    extensions = extensions_of(hs)
    answers: dict[str, ExtensionResult | None] = {}
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        for name in ROOM_LIST:
            answers[name] = await extensions[name].build(context, {"enabled": True})
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    return answers, peak


async def _woken_by_a_message(hs: Homeserver, rooms_in_scope: int) -> int:
    """A connection listing `rooms_in_scope` rooms is woken by a message in one of them; what
    the extensions held building their part."""
    alice = await hs.register_user(f"alice{rooms_in_scope}")
    room_id = await alice.create_room()
    # the other rooms of the list: the extensions have nothing to read of them here
    listed = [room_id] + [f"!listed{i:05d}:test" for i in range(rooms_in_scope - 1)]
    window = Window(hs, alice, ExtensionScope({"all": listed}, []))
    await alice.send_text(room_id, "wake up")
    # the room bumped to the top: the list holds the same rooms (service.py `same_rooms_as`)
    now = ExtensionScope({"all": [*listed[1:], room_id]}, []).same_rooms_as(window.scope)
    answers, peak = await _build_all(hs, await window.context(now))
    assert answers == dict.fromkeys(ROOM_LIST), answers
    return peak


async def test_a_woken_request_with_nothing_for_the_extensions_costs_the_same_at_any_size(
    hs: Homeserver,
) -> None:
    """MSC4186: "Sync time should be independent of the number of rooms you are in." A message
    wakes Element X's room-list connection: no typing changed (MSC3961: typing is sent "as the
    server receives typing updates"), no receipt (MSC3960: "receipt deltas") and no account data
    (MSC3959: "SHOULD be omitted when delta tokens are used") came in the window, and no room
    entered the response. The three extensions send nothing, and what they hold to decide so
    does not grow with the rooms in the lists' ranges (no copy of the scope's rooms)."""
    await _woken_by_a_message(hs, 10)  # the first build of the process fills its caches
    small = await _woken_by_a_message(hs, 30)
    large = await _woken_by_a_message(hs, 3000)
    assert large <= small + 1024, (small, large)


async def test_rooms_entering_a_quiet_window_still_bring_their_current_state(
    hs: Homeserver,
) -> None:
    """MSC3961: "If a room is newly added to the list, the server MUST send the current typing
    state"; MSC3960 likewise sends a room's receipts when it is first sent, and MSC3959: "The
    server MUST NOT send room account data for rooms the client is not aware of" (so a room the
    client becomes aware of gets it). A window with no typing change, no receipt and no account
    data written still carries them for the room that entered the list's range."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    shown = await bob.create_room(preset="public_chat")
    entering = await bob.create_room(preset="public_chat")
    await alice.join(shown)
    await alice.join(entering)
    event_id = await bob.send_text(entering, "read me")
    resp = await bob.post(f"/rooms/{entering}/receipt/m.read/{event_id}", json={})
    assert resp.status_code == 200, resp.text
    typing = {"typing": True, "timeout": 30000}
    resp = await bob.put(f"/rooms/{entering}/typing/{bob.user_id}", json=typing)
    assert resp.status_code == 200, resp.text
    path = f"/user/{alice.user_id}/rooms/{entering}/tags/m.favourite"
    assert (await alice.put(path, json={})).status_code == 200

    window = Window(hs, alice, ExtensionScope({"all": [shown]}, []))
    await bob.send_text(shown, "wake up")  # the range grows onto `entering`
    context = await window.context(ExtensionScope({"all": [shown, entering]}, []))
    assert context.news is not None
    assert not context.news.receipts
    assert not context.news.account_data
    assert context.since_ephemeral == context.ephemeral_upto
    answers, _ = await _build_all(hs, context)

    receipts, typing_part, account = (
        answers[name] for name in ("receipts", "typing", "account_data")
    )
    assert receipts is not None
    assert list(receipts.payload["rooms"]) == [entering]
    assert list(receipts.payload["rooms"][entering]["content"][event_id]["m.read"]) == [bob.user_id]
    assert typing_part is not None
    assert typing_part.payload["rooms"] == {
        entering: {"type": "m.typing", "content": {"user_ids": [bob.user_id]}}
    }
    assert account is not None
    assert account.payload["global"] == []
    assert [e["type"] for e in account.payload["rooms"][entering]] == ["m.tag"]


async def _parked(hs: Homeserver, client: SlidingClient) -> asyncio.Task[dict[str, Any]]:
    waiting = asyncio.create_task(client.sync(room_list_request(), timeout_ms=30000))
    await hs.wait_for_waiting_syncs(1)
    return waiting


async def test_a_receipt_while_parked_wakes_the_room_list(hs: Homeserver) -> None:
    """MSC3960: the `m.receipt` event is "the same event that would appear in the array
    `rooms.join["!foo:bar"].ephemeral.events` under `/sync`", and /sync returns when a receipt
    arrives: a receipt written while the room-list connection is parked wakes it with it."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    event_id = await bob.send_text(room_id, "hello")
    alice_list = SlidingClient(alice)
    await alice_list.sync(room_list_request())
    await alice_list.sync(room_list_request(), timeout_ms=0)

    waiting = await _parked(hs, alice_list)
    resp = await bob.post(f"/rooms/{room_id}/receipt/m.read/{event_id}", json={})
    assert resp.status_code == 200, resp.text
    woken = await asyncio.wait_for(waiting, timeout=10)
    receipt = woken["extensions"]["receipts"]["rooms"][room_id]
    assert list(receipt["content"][event_id]["m.read"]) == [bob.user_id]


async def test_account_data_while_parked_wakes_the_room_list(hs: Homeserver) -> None:
    """MSC3959: account data "is subject to delta tokens": what changes while the room-list
    connection is parked (global, and a tag of a room in its list) wakes it and is sent."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    alice_list = SlidingClient(alice)
    await alice_list.sync(room_list_request())

    waiting = await _parked(hs, alice_list)
    content = {"theme": "dark"}
    path = f"/user/{alice.user_id}/account_data/org.example.settings"
    assert (await alice.put(path, json=content)).status_code == 200
    woken = await asyncio.wait_for(waiting, timeout=10)
    assert woken["extensions"]["account_data"]["global"] == [
        {"type": "org.example.settings", "content": content}
    ]

    waiting = await _parked(hs, alice_list)
    path = f"/user/{alice.user_id}/rooms/{room_id}/tags/m.favourite"
    assert (await alice.put(path, json={})).status_code == 200
    woken = await asyncio.wait_for(waiting, timeout=10)
    tags = woken["extensions"]["account_data"]["rooms"][room_id]
    assert [e["type"] for e in tags] == ["m.tag"]
