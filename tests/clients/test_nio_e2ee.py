"""matrix-nio with end-to-end encryption on the real server: Olm, Megolm, to-device, key counts.

Three accounts made with `bastion user create` log in with nio's AsyncClient, encryption enabled
and a crypto store each in pytest's `tmp_path`, so every login is a new device with its own
identity keys. They chat in a private room whose initial state enables m.megolm.v1.aes-sha2:

* each device publishes device and one-time keys (POST /keys/upload); its first /sync reports
  the uploaded count in device_one_time_keys_count;
* alice's sync lists bob in device_lists.changed once he shares the room, and nio queries his
  keys (POST /keys/query): the device and identity keys she gets are the ones bob's nio holds;
* alice claims a one-time key of bob's device (POST /keys/claim) and sends him a new Megolm
  session over Olm (PUT /sendToDevice); bob's sync delivers it once, as a to-device event nio
  decrypts into m.room_key, and counts one one-time key fewer;
* the message is m.room.encrypted on the server (fetched raw: no plaintext anywhere) and bob's
  nio decrypts it into an m.room.message; bob's encrypted reply reaches alice over the Olm
  session alice opened (so none of her one-time keys is claimed);
* carol joins later with a new device: alice's next message uses a new session, which reaches
  carol and bob, and both decrypt it; the first message stays undecryptable for carol. Her reply
  claims a one-time key of bob's device (she has an Olm session with alice already);
* finally one-time keys are claimed over plain HTTP: signed by the owner's device, never handed
  out twice, and counted down in the owner's sync.

Between syncs each client does what nio's `sync_forever` does between its syncs: upload keys
when it should, query keys when it should, claim keys for wedged sessions, send queued to-device
messages. Every sync is bounded by SYNC_TIMEOUT_MS and every wait by SYNC_ROUNDS syncs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    KeysClaimResponse,
    KeysQueryResponse,
    KeysUploadResponse,
    LoginResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomInviteResponse,
    RoomKeyEvent,
    RoomMessageText,
    RoomSendResponse,
    RoomVisibility,
    ShareGroupSessionResponse,
    SyncResponse,
    ToDeviceResponse,
)

from tests.clients.server import PASSWORD, BastionServer

SYNC_TIMEOUT_MS = 5000  # long-poll bound for a sync that waits for something new
SYNC_ROUNDS = 10  # syncs a wait may take before the test gives up
MEGOLM = "m.megolm.v1.aes-sha2"
ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}

JsonObject = dict[str, Any]
E2eeFactory = Callable[[str], AsyncClient]


# --- the client factory --------------------------------------------------------------------------


@pytest.fixture
async def e2ee_client(bastion_server: BastionServer, tmp_path: Path) -> AsyncIterator[E2eeFactory]:
    """Makes encrypting nio clients, each with a crypto store of its own; closes them all."""
    clients: list[AsyncClient] = []

    def make(user: str) -> AsyncClient:
        store = tmp_path / "nio-stores" / user
        store.mkdir(parents=True)
        config = AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=True,
            # No retries: a rate limit or a timeout should fail the test, not stretch it.
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=10,
        )
        client = AsyncClient(bastion_server.base_url, user, store_path=str(store), config=config)
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.close()


# --- helpers: one client action each, failing the test with the server's answer ----------------


async def log_in(client: AsyncClient) -> None:
    """Password login: a new device; nio then opens its crypto store and makes an Olm account."""
    response = await client.login(PASSWORD, device_name="nio e2ee test")
    assert isinstance(response, LoginResponse), response
    assert client.olm is not None, "nio did not load its crypto store"
    assert client.should_upload_keys  # a brand-new account has nothing on the server yet


async def upload_keys(client: AsyncClient) -> int:
    """POST /keys/upload of the device keys and a batch of one-time keys; returns the count."""
    assert client.should_upload_keys
    response = await client.keys_upload()
    assert isinstance(response, KeysUploadResponse), response
    count: int = response.signed_curve25519_count
    assert count > 0, response
    assert not client.should_upload_keys  # nio took the server's count as the full batch
    return count


async def housekeeping(client: AsyncClient) -> None:
    """What nio's sync_forever does after each sync, each request checked."""
    for sent in await client.send_to_device_messages():
        assert isinstance(sent, ToDeviceResponse), sent
    if client.should_upload_keys:
        uploaded = await client.keys_upload()
        assert isinstance(uploaded, KeysUploadResponse), uploaded
    if client.should_query_keys:
        queried = await client.keys_query()
        assert isinstance(queried, KeysQueryResponse), queried
    if client.should_claim_keys:
        claimed = await client.keys_claim(client.get_users_for_key_claiming())
        assert isinstance(claimed, KeysClaimResponse), claimed


async def sync(client: AsyncClient, timeout: int = SYNC_TIMEOUT_MS) -> SyncResponse:  # noqa: ASYNC109
    """One /sync from nio's own `next_batch`, then the housekeeping nio's sync loop would do."""
    response = await client.sync(timeout=timeout)
    assert isinstance(response, SyncResponse), response
    await housekeeping(client)
    return response


async def sync_until(
    client: AsyncClient, found: Callable[[SyncResponse], bool], what: str
) -> SyncResponse:
    """Sync (at most SYNC_ROUNDS times) until a response satisfies `found`; returns it."""
    for _ in range(SYNC_ROUNDS):
        response = await sync(client)
        if found(response):
            return response
    raise AssertionError(f"{client.user_id} never saw {what} in {SYNC_ROUNDS} syncs")


def timeline(response: SyncResponse, room_id: str) -> list[Any]:
    info = response.rooms.join.get(room_id)
    return list(info.timeline.events) if info is not None else []


def event_in(response: SyncResponse, room_id: str, event_id: str) -> Any:
    """The (parsed, decrypted if nio could) event `event_id` of the room's timeline, or None."""
    return next((e for e in timeline(response, room_id) if e.event_id == event_id), None)


def knows_device(client: AsyncClient, user_id: str, device_id: str) -> bool:
    return any(d.id == device_id for d in client.device_store.active_user_devices(user_id))


async def raw_event(server: BastionServer, token: str, room_id: str, event_id: str) -> JsonObject:
    """GET /rooms/{roomId}/event/{eventId}: the event exactly as the server stores and serves it."""
    url = (
        f"{server.base_url}/_matrix/client/v3/rooms/{quote(room_id, safe='')}"
        f"/event/{quote(event_id, safe='')}"
    )
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        response = await http.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    event: JsonObject = response.json()
    return event


def assert_stored_encrypted(event: JsonObject, sender: AsyncClient, plaintext: str) -> None:
    """The server holds ciphertext only: m.room.encrypted with Megolm fields, no body."""
    assert event["type"] == "m.room.encrypted", event
    assert event["sender"] == sender.user_id
    content = event["content"]
    assert content["algorithm"] == MEGOLM, content
    assert isinstance(content["ciphertext"], str)
    assert content["ciphertext"]
    assert content["session_id"]
    assert "body" not in content
    assert "msgtype" not in content
    assert plaintext not in json.dumps(event)


async def share_room_key(
    sender: AsyncClient, room_id: str, recipients: set[tuple[str, str]]
) -> None:
    """Share a new Megolm session over Olm to-device messages; it must reach `recipients`.

    nio's room_send would do the same on its own; doing it here lets the test see whom the key
    went to (ShareGroupSessionResponse counts only to-device sends the server accepted).
    """
    assert sender.olm is not None
    assert sender.olm.should_share_group_session(room_id)
    response = await sender.share_group_session(room_id, ignore_unverified_devices=True)
    assert isinstance(response, ShareGroupSessionResponse), response
    assert recipients <= response.users_shared_with, (recipients, response.users_shared_with)


async def send_encrypted(client: AsyncClient, room_id: str, body: str) -> str:
    """room_send in an encrypted room: nio encrypts with its outbound Megolm session."""
    response = await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": body},
        ignore_unverified_devices=True,
    )
    assert isinstance(response, RoomSendResponse), response
    event_id: str = response.event_id
    return event_id


async def receive_decrypted(
    client: AsyncClient, room_id: str, event_id: str, sender: AsyncClient | str, body: str
) -> list[SyncResponse]:
    """Sync until the event arrives; nio must have turned it into the sender's text message
    (`sender`: a client, or a user ID).

    Returns every sync response on the way (the room key may come in an earlier one, or in the
    same one: nio handles to-device events before the timeline).
    """
    responses: list[SyncResponse] = []
    for _ in range(SYNC_ROUNDS):
        responses.append(await sync(client))
        event = event_in(responses[-1], room_id, event_id)
        if event is not None:
            break
    else:
        raise AssertionError(f"{client.user_id} never saw {event_id} in {SYNC_ROUNDS} syncs")
    assert not isinstance(event, MegolmEvent), f"left undecrypted: {event.source}"
    assert isinstance(event, RoomMessageText), event.source
    assert event.decrypted
    assert event.sender == (sender if isinstance(sender, str) else sender.user_id)
    assert event.body == body
    assert event.source["type"] == "m.room.message"  # the decrypted payload, not the envelope
    return responses


def room_keys_from(response: SyncResponse, sender: AsyncClient, room_id: str) -> list[Any]:
    """m.room_key to-device events from `sender` for the room, decrypted by nio from Olm."""
    return [
        e
        for e in response.to_device_events
        if isinstance(e, RoomKeyEvent) and e.sender == sender.user_id and e.room_id == room_id
    ]


def keys_in(
    responses: list[SyncResponse], sender: AsyncClient, room_id: str
) -> list[tuple[SyncResponse, Any]]:
    """(response, m.room_key event) for each room key from `sender` among the responses."""
    return [(r, key) for r in responses for key in room_keys_from(r, sender, room_id)]


# --- the story, step by step -------------------------------------------------------------------


async def log_in_with_keys(client: AsyncClient) -> None:
    """Log in, publish keys, and see the one-time key count in the first sync."""
    await log_in(client)
    uploaded = await upload_keys(client)
    first = await sync(client, timeout=0)
    assert first.device_key_count.signed_curve25519 == uploaded, first.device_key_count


async def create_encrypted_room(alice: AsyncClient, bob_id: str) -> str:
    response = await alice.room_create(
        visibility=RoomVisibility.private,
        name="Bastion e2ee room",
        invite=[bob_id],
        initial_state=[ENCRYPTION_STATE],
    )
    assert isinstance(response, RoomCreateResponse), response
    room_id: str = response.room_id
    await sync_until(alice, lambda r: room_id in r.rooms.join, "her new room")
    assert alice.rooms[room_id].encrypted, "m.room.encryption from initial_state did not apply"
    return room_id


async def join_invited(client: AsyncClient, room_id: str) -> None:
    await sync_until(client, lambda r: room_id in r.rooms.invite, f"the invite to {room_id}")
    joined = await client.join(room_id)
    assert isinstance(joined, JoinResponse), joined
    await sync_until(client, lambda r: room_id in r.rooms.join, f"the join of {room_id}")
    assert client.rooms[room_id].encrypted


async def learn_new_member(alice: AsyncClient, member: AsyncClient) -> None:
    """Alice's sync lists the new member in device_lists.changed; nio then queries the keys."""
    assert member.user_id is not None
    await sync_until(
        alice,
        lambda r: member.user_id in r.device_list.changed,
        f"{member.user_id} in device_lists.changed",
    )
    # housekeeping ran keys_query: alice now knows the member's new device and its keys.
    assert knows_device(alice, member.user_id, member.device_id)
    device = alice.device_store[member.user_id][member.device_id]
    assert member.olm is not None
    assert device.ed25519 == member.olm.account.identity_keys["ed25519"]
    assert device.curve25519 == member.olm.account.identity_keys["curve25519"]


async def one_time_key_count(client: AsyncClient) -> int:
    """signed_curve25519 in device_one_time_keys_count of an immediate sync."""
    count: int | None = (await sync(client, timeout=0)).device_key_count.signed_curve25519
    assert count, f"{client.user_id}'s sync has no signed_curve25519 one-time keys"
    return count


async def encrypted_exchange(
    server: BastionServer,
    sender: AsyncClient,
    receivers: list[tuple[AsyncClient, bool]],
    room_id: str,
    body: str,
) -> str:
    """`sender` shares a new Megolm session and sends `body`; every receiver decrypts it.

    `receivers` pairs each client with whether the sender must claim one of its one-time keys
    (no Olm session between their devices yet). Each receiver's syncs deliver exactly one
    m.room_key to-device event from the sender (Olm encrypted; nio decrypts it); the sync that
    carries it counts one one-time key fewer than before if one was claimed, else as many.
    Returns the event ID.
    """
    assert sender.user_id is not None
    before = {}
    recipients = set()
    for receiver, _ in receivers:
        assert receiver.user_id is not None
        assert receiver.device_id is not None
        assert knows_device(sender, receiver.user_id, receiver.device_id)
        before[receiver.user_id] = await one_time_key_count(receiver)
        recipients.add((receiver.user_id, receiver.device_id))

    await share_room_key(sender, room_id, recipients)
    event_id = await send_encrypted(sender, room_id, body)
    stored = await raw_event(server, sender.access_token, room_id, event_id)
    assert_stored_encrypted(stored, sender, body)

    for receiver, claims in receivers:
        responses = await receive_decrypted(receiver, room_id, event_id, sender, body)
        keys = keys_in(responses, sender, room_id)
        assert len(keys) == 1, [r.to_device_events for r in responses]
        [(keyed, room_key)] = keys
        assert room_key.algorithm == MEGOLM
        assert room_key.session_id == stored["content"]["session_id"]
        expected = before[receiver.user_id] - 1 if claims else before[receiver.user_id]
        assert keyed.device_key_count.signed_curve25519 == expected, (
            receiver.user_id,
            before[receiver.user_id],
            keyed.device_key_count,
        )
        # Delivered once: the next sync, from a token past it, does not repeat it.
        assert not room_keys_from(await sync(receiver, timeout=0), sender, room_id)
    return event_id


async def claim_by_hand(server: BastionServer, claimer: AsyncClient, owner: AsyncClient) -> None:
    """POST /keys/claim straight over HTTP: one signed key, used once, counted in the owner's sync.

    The claimer's nio never sees the response, so its Olm state stays as it was.
    """
    assert owner.user_id is not None
    assert owner.device_id is not None
    assert owner.olm is not None
    assert claimer.olm is not None
    before = await one_time_key_count(owner)
    wanted = {"one_time_keys": {owner.user_id: {owner.device_id: "signed_curve25519"}}}
    url = f"{server.base_url}/_matrix/client/v3/keys/claim"
    headers = {"Authorization": f"Bearer {claimer.access_token}"}
    claimed: list[str] = []
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        for _ in range(2):
            response = await http.post(url, json=wanted, headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["failures"] == {}, body
            [(key_id, key)] = body["one_time_keys"][owner.user_id][owner.device_id].items()
            assert key_id.startswith("signed_curve25519:"), key_id
            # Signed by the owner's device, as uploaded: nio's own check of the signature.
            ed25519 = owner.olm.account.identity_keys["ed25519"]
            assert claimer.olm.verify_json(dict(key), ed25519, owner.user_id, owner.device_id), key
            claimed.append(key_id)
    assert claimed[0] != claimed[1], "a one-time key was handed out twice"

    assert await one_time_key_count(owner) == before - 2


async def assert_undecryptable(client: AsyncClient, room_id: str, event_id: str) -> None:
    """The event is visible to the client (shared history) but nio holds no key for it."""
    response = await client.room_get_event(room_id, event_id)
    assert isinstance(response, RoomGetEventResponse), response
    assert isinstance(response.event, MegolmEvent), response.event.source
    assert response.event.source["type"] == "m.room.encrypted"


async def invite_late_member(alice: AsyncClient, carol: AsyncClient, room_id: str) -> None:
    assert carol.user_id is not None
    invited = await alice.room_invite(room_id, carol.user_id)
    assert isinstance(invited, RoomInviteResponse), invited
    await join_invited(carol, room_id)
    await learn_new_member(alice, carol)


# --- the test ----------------------------------------------------------------------------------


async def test_encrypted_room_story(
    bastion_server: BastionServer, e2ee_client: E2eeFactory
) -> None:
    bob_id = bastion_server.create_user("bob")
    for localpart in ("alice", "carol"):
        bastion_server.create_user(localpart)
    alice, bob = e2ee_client("alice"), e2ee_client("bob")
    await log_in_with_keys(alice)
    await log_in_with_keys(bob)

    room_id = await create_encrypted_room(alice, bob_id)
    await join_invited(bob, room_id)  # bob's joined sync makes nio query alice's keys
    await learn_new_member(alice, bob)

    # alice -> bob: she claims a one-time key of bob's device and opens an Olm session with it.
    first = await encrypted_exchange(
        bastion_server, alice, [(bob, True)], room_id, "hello bob, secretly"
    )
    # bob -> alice: bob reuses the Olm session alice opened, so no key of alice's is claimed.
    await encrypted_exchange(bastion_server, bob, [(alice, False)], room_id, "hi alice, got it")

    # carol arrives with a new device. The membership change makes nio drop alice's outbound
    # session; the new one reaches bob (over the old Olm session) and carol (over a new one).
    carol = e2ee_client("carol")
    await log_in_with_keys(carol)
    await invite_late_member(alice, carol, room_id)
    await assert_undecryptable(carol, room_id, first)
    await sync(bob, timeout=0)  # bob hears of carol and queries her keys
    await encrypted_exchange(
        bastion_server, alice, [(carol, True), (bob, False)], room_id, "welcome carol"
    )
    # carol -> both: alice's pre-key message gave carol an Olm session with alice; with bob she
    # has none yet, so she claims one of his one-time keys.
    await encrypted_exchange(
        bastion_server, carol, [(alice, False), (bob, True)], room_id, "thanks, I can read this"
    )

    await claim_by_hand(bastion_server, carol, alice)
