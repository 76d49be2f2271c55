"""matrix-nio and the rich-messaging features: typing, receipts, edits, reactions, threads, search.

Alice and Bob share a private room on the real server (`bastion serve`, driven over HTTP by nio's
AsyncClient); Dave has an account but is not in the room, and checks the privacy side of each
feature. nio is the judge wherever it has a method: typing notices, receipts and read markers,
sending, /messages, /event, /relations and /threads are nio's own calls, and what /sync delivers
is read through nio's parsed events and room state (`typing_users`, `read_receipts`, ...).
/search has no nio method, so it goes through nio's transport (`nio_request`) and each result
is parsed by nio's event parser.

What the server must do, per the spec version we follow (v1.7 and later for edits):
- an edit is bundled as the whole latest `m.replace` event under `unsigned["m.relations"]`, and
  the original's content is left as it was (client-server-api#server-side-aggregation-of-
  mreplace-relationships);
- annotations are not bundled (#server-side-aggregation-of-mannotation-relationships), and a
  second identical annotation by the same sender is refused with 400 M_DUPLICATE_ANNOTATION;
- a thread root carries `m.thread` with `latest_event`, `count` and `current_user_participated`.

Every wait is bounded: a sync long-polls at most SYNC_TIMEOUT_MS, and a wait for something to
show up in /sync gives up after SYNC_ROUNDS syncs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from nio import (
    AsyncClient,
    Event,
    JoinResponse,
    MessageDirection,
    ReactionEvent,
    Receipt,
    ReceiptEvent,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomMessagesResponse,
    RoomMessageText,
    RoomReadMarkersResponse,
    RoomSendError,
    RoomTypingError,
    RoomTypingResponse,
    RoomVisibility,
    SyncResponse,
    TypingNoticeEvent,
    UpdateReceiptMarkerError,
    UpdateReceiptMarkerResponse,
)
from nio.api import Api, RelationshipType, ThreadInclusion
from nio.responses import (
    RoomEventRelationsError,
    RoomEventRelationsResponse,
    RoomThreadsError,
    RoomThreadsResponse,
)

from tests.clients.nio_fixtures import NioFactory, log_in, nio_request, send, send_text, sync
from tests.clients.server import BastionServer

SYNC_ROUNDS = 10  # syncs a wait may take before the test gives up
SHORT_TYPING_MS = 300  # a typing notice left to time out on the server

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Chat:
    """Alice and Bob joined to `room_id`, each synced past the join; Dave in no room."""

    room_id: str
    alice: AsyncClient
    bob: AsyncClient
    dave: AsyncClient


# --- helpers: one client action each, failing the test with the server's answer -----------------


async def syncs_until(
    client: AsyncClient, found: Callable[[SyncResponse], bool], what: str
) -> list[SyncResponse]:
    """Sync until a response satisfies `found`; returns every response, that one last."""
    responses: list[SyncResponse] = []
    for _ in range(SYNC_ROUNDS):
        responses.append(await sync(client))
        if found(responses[-1]):
            return responses
    raise AssertionError(f"{client.user_id} never saw {what} in {SYNC_ROUNDS} syncs")


def timeline_ids(response: SyncResponse, room_id: str) -> list[str]:
    info = response.rooms.join.get(room_id)
    return [e.event_id for e in info.timeline.events] if info is not None else []


def ephemeral(response: SyncResponse, room_id: str) -> list[Any]:
    info = response.rooms.join.get(room_id)
    return list(info.ephemeral) if info is not None else []


def typing_notices(response: SyncResponse, room_id: str) -> list[list[str]]:
    """The `user_ids` of each m.typing event for the room, as nio parsed them."""
    return [e.users for e in ephemeral(response, room_id) if isinstance(e, TypingNoticeEvent)]


def receipts(response: SyncResponse, room_id: str) -> list[Receipt]:
    """Every receipt of every m.receipt event for the room, as nio parsed them."""
    events = ephemeral(response, room_id)
    return [r for e in events if isinstance(e, ReceiptEvent) for r in e.receipts]


def reaction(target: str, key: str) -> JsonObject:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}


def edit(target: str, new_body: str) -> JsonObject:
    return {
        "msgtype": "m.text",
        "body": f"* {new_body}",
        "m.new_content": {"msgtype": "m.text", "body": new_body},
        "m.relates_to": {"rel_type": "m.replace", "event_id": target},
    }


def thread_reply(root: str, body: str) -> JsonObject:
    """A thread message as Element sends one: with the reply fallback for older clients."""
    return {
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        },
    }


async def relation_ids(
    client: AsyncClient,
    chat: Chat,
    parent: str,
    rel_type: RelationshipType | None = None,
    event_type: str | None = None,
    **kwargs: Any,
) -> list[str]:
    """Every child nio's /relations iterator yields (it follows `next_batch` itself)."""
    found = client.room_get_event_relations(chat.room_id, parent, rel_type, event_type, **kwargs)
    return [event.event_id async for event in found]


async def thread_root_ids(client: AsyncClient, chat: Chat, include: ThreadInclusion) -> list[str]:
    return [event.event_id async for event in client.room_get_threads(chat.room_id, include)]


async def fetch_event(client: AsyncClient, chat: Chat, event_id: str) -> JsonObject:
    response = await client.room_get_event(chat.room_id, event_id)
    assert isinstance(response, RoomGetEventResponse), response
    source: JsonObject = response.event.source
    return source


async def newest_messages(client: AsyncClient, chat: Chat) -> dict[str, JsonObject]:
    """The room's newest page of /messages (backwards from the client's sync token), by ID."""
    page = await client.room_messages(
        chat.room_id, start=client.next_batch, direction=MessageDirection.back, limit=50
    )
    assert isinstance(page, RoomMessagesResponse), page
    return {event.event_id: event.source for event in page.chunk}


def bundled(event: JsonObject) -> JsonObject:
    """`unsigned["m.relations"]` of a client-format event ({} when nothing is bundled)."""
    relations: JsonObject = event.get("unsigned", {}).get("m.relations", {})
    return relations


async def search(client: AsyncClient, term: str) -> tuple[int, JsonObject]:
    """POST /search for room events (nio has no method): the status and the body."""
    body = {"search_categories": {"room_events": {"search_term": term}}}
    return await nio_request(client, "POST", Api._build_path(["search"]), body)


async def found_events(client: AsyncClient, term: str) -> tuple[list[Event], int]:
    """The events a successful search returns, parsed by nio, and the `count` it gives."""
    status, body = await search(client, term)
    assert status == 200, body
    room_events = body["search_categories"]["room_events"]
    events = [Event.parse_event(r["result"]) for r in room_events["results"]]
    count: int = room_events["count"]
    return events, count


# --- the room --------------------------------------------------------------------------------


@pytest.fixture
async def chat(bastion_server: BastionServer, nio_client: NioFactory) -> Chat:
    """A private room alice made and bob joined through nio; dave logged in but elsewhere."""
    for name in ("alice", "bob", "dave"):
        bastion_server.create_user(name)
    alice, bob, dave = nio_client("alice"), nio_client("bob"), nio_client("dave")
    for client in (alice, bob, dave):
        await log_in(client, "nio rich messaging test")
        await sync(client)  # the initial sync; from here on every sync is incremental

    created = await alice.room_create(visibility=RoomVisibility.private, invite=[bob.user_id])
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    await syncs_until(bob, lambda r: room_id in r.rooms.invite, "the invite")
    joined = await bob.join(room_id)
    assert isinstance(joined, JoinResponse), joined
    await syncs_until(bob, lambda r: room_id in r.rooms.join, "his own join")
    await syncs_until(
        alice,
        lambda r: room_id in alice.rooms and bob.user_id in alice.rooms[room_id].users,
        "bob's join",
    )
    assert set(bob.rooms[room_id].users) == {alice.user_id, bob.user_id}
    return Chat(room_id, alice, bob, dave)


# --- typing ------------------------------------------------------------------------------------


async def test_typing_starts_stops_and_times_out(chat: Chat) -> None:
    alice, bob, room_id = chat.alice, chat.bob, chat.room_id

    started = await alice.room_typing(room_id, typing_state=True, timeout=30_000)
    assert isinstance(started, RoomTypingResponse), started
    seen = await syncs_until(bob, lambda r: bool(typing_notices(r, room_id)), "alice typing")
    assert typing_notices(seen[-1], room_id) == [[alice.user_id]]
    assert bob.rooms[room_id].typing_users == [alice.user_id]

    stopped = await alice.room_typing(room_id, typing_state=False)
    assert isinstance(stopped, RoomTypingResponse), stopped
    seen = await syncs_until(bob, lambda r: bool(typing_notices(r, room_id)), "alice stop")
    assert typing_notices(seen[-1], room_id) == [[]]
    assert bob.rooms[room_id].typing_users == []

    # A notice nobody takes back ends by itself when its timeout passes; the server wakes bob's
    # long-poll for it (so no sleep here: his sync simply returns when the notice expires).
    short = await alice.room_typing(room_id, typing_state=True, timeout=SHORT_TYPING_MS)
    assert isinstance(short, RoomTypingResponse), short
    await syncs_until(
        bob, lambda r: typing_notices(r, room_id)[-1:] == [[]], "alice's notice time out"
    )
    assert bob.rooms[room_id].typing_users == []


async def test_typing_outside_the_room_is_forbidden(chat: Chat) -> None:
    refused = await chat.dave.room_typing(chat.room_id, typing_state=True)
    assert isinstance(refused, RoomTypingError), refused
    assert refused.status_code == "M_FORBIDDEN"
    assert refused.transport_response.status == 403
    # Nothing reached the room: bob's next news is the message alice sends, and no typing.
    marker = await send_text(chat.alice, chat.room_id, "after dave's attempt")
    seen = await syncs_until(
        chat.bob, lambda r: marker in timeline_ids(r, chat.room_id), "alice's message"
    )
    assert all(typing_notices(r, chat.room_id) == [] for r in seen)
    assert chat.bob.rooms[chat.room_id].typing_users == []


# --- receipts and read markers -----------------------------------------------------------------


async def test_read_receipts_reach_the_other_member(chat: Chat) -> None:
    alice, bob, room_id = chat.alice, chat.bob, chat.room_id
    first = await send_text(bob, room_id, "did you read this?")
    await syncs_until(alice, lambda r: first in timeline_ids(r, room_id), "bob's message")

    # nio's update_receipt_marker sends a receipt for the main timeline (thread_id "main").
    marked = await alice.update_receipt_marker(room_id, first)
    assert isinstance(marked, UpdateReceiptMarkerResponse), marked
    seen = await syncs_until(bob, lambda r: bool(receipts(r, room_id)), "alice's receipt")
    [receipt] = receipts(seen[-1], room_id)
    assert (receipt.event_id, receipt.receipt_type, receipt.user_id, receipt.thread_id) == (
        first,
        "m.read",
        alice.user_id,
        "main",
    )
    assert receipt.timestamp > 0
    assert bob.rooms[room_id].threaded_read_receipts[alice.user_id]["main"].event_id == first

    # read_markers: the public receipt (unthreaded) for bob, the fully-read marker for alice only.
    second = await send_text(bob, room_id, "and this one?")
    await syncs_until(alice, lambda r: second in timeline_ids(r, room_id), "bob's second")
    markers = await alice.room_read_markers(room_id, fully_read_event=second, read_event=second)
    assert isinstance(markers, RoomReadMarkersResponse), markers
    seen = await syncs_until(bob, lambda r: bool(receipts(r, room_id)), "the second receipt")
    [receipt] = receipts(seen[-1], room_id)
    assert (receipt.event_id, receipt.user_id, receipt.thread_id) == (second, alice.user_id, None)
    assert bob.rooms[room_id].read_receipts[alice.user_id].event_id == second
    await syncs_until(
        alice, lambda r: alice.rooms[room_id].fully_read_marker == second, "her read marker"
    )
    assert bob.rooms[room_id].fully_read_marker is None  # alice's account data, not bob's


async def test_private_receipts_and_outsiders(chat: Chat) -> None:
    alice, bob, room_id = chat.alice, chat.bob, chat.room_id
    secret = await send_text(bob, room_id, "read this quietly")
    await syncs_until(alice, lambda r: secret in timeline_ids(r, room_id), "bob's message")

    markers = await alice.room_read_markers(
        room_id, fully_read_event=secret, private_read_event=secret
    )
    assert isinstance(markers, RoomReadMarkersResponse), markers
    own = await syncs_until(alice, lambda r: bool(receipts(r, room_id)), "her private receipt")
    assert [(r.event_id, r.receipt_type, r.user_id) for r in receipts(own[-1], room_id)] == [
        (secret, "m.read.private", alice.user_id)
    ]
    # Bob's syncs up to a message sent after the private receipt carry no receipt at all.
    later = await send_text(alice, room_id, "sent after the private receipt")
    seen = await syncs_until(bob, lambda r: later in timeline_ids(r, room_id), "the later one")
    assert [receipts(r, room_id) for r in seen] == [[] for _ in seen]
    assert alice.user_id not in bob.rooms[room_id].read_receipts

    refused = await chat.dave.update_receipt_marker(room_id, secret)
    assert isinstance(refused, UpdateReceiptMarkerError), refused
    assert refused.status_code == "M_FORBIDDEN"


# --- edits, reactions and threads --------------------------------------------------------------


@dataclass(frozen=True)
class Relations:
    """The event IDs of the relations story, in the order they were sent."""

    root: str  # alice's message: edited, reacted to, and the root of bob's thread
    edit: str  # alice's edit of root
    bob_reaction: str
    alice_reaction: str
    bob_reply: str  # bob's thread message under root
    other_root: str  # a second thread, alice's alone
    alice_reply: str


async def tell_the_relations_story(chat: Chat) -> Relations:
    alice, bob, room_id = chat.alice, chat.bob, chat.room_id
    root = await send_text(alice, room_id, "lunch at noon?")
    edited = await send(alice, room_id, "m.room.message", edit(root, "lunch at one?"))
    await syncs_until(bob, lambda r: edited in timeline_ids(r, room_id), "alice's edit")

    bob_reaction = await send(bob, room_id, "m.reaction", reaction(root, "👍"))
    duplicate = await bob.room_send(room_id, "m.reaction", reaction(root, "👍"))
    assert isinstance(duplicate, RoomSendError), duplicate
    assert duplicate.status_code == "M_DUPLICATE_ANNOTATION"
    assert duplicate.transport_response.status == 400
    alice_reaction = await send(alice, room_id, "m.reaction", reaction(root, "👍"))  # her own

    bob_reply = await send(bob, room_id, "m.room.message", thread_reply(root, "one works"))
    other_root = await send_text(alice, room_id, "who booked the room?")
    alice_reply = await send(alice, room_id, "m.room.message", thread_reply(other_root, "I did"))
    return Relations(root, edited, bob_reaction, alice_reaction, bob_reply, other_root, alice_reply)


async def test_bob_sees_the_relations_in_his_timeline(chat: Chat) -> None:
    story = await tell_the_relations_story(chat)
    seen = await syncs_until(
        chat.bob, lambda r: story.alice_reply in timeline_ids(r, chat.room_id), "the story"
    )
    events = [e for r in seen for e in r.rooms.join[chat.room_id].timeline.events]
    reactions = [e for e in events if isinstance(e, ReactionEvent)]
    assert [(e.event_id, e.sender, e.reacts_to, e.key) for e in reactions] == [
        (story.bob_reaction, chat.bob.user_id, story.root, "👍"),
        (story.alice_reaction, chat.alice.user_id, story.root, "👍"),
    ]
    texts = {e.event_id: e for e in events if isinstance(e, RoomMessageText)}
    reply = texts[story.bob_reply].source["content"]["m.relates_to"]
    assert (reply["rel_type"], reply["event_id"]) == ("m.thread", story.root)
    # The refused duplicate was never stored, so nobody ever sees it.
    assert len([e for e in events if e.source["type"] == "m.reaction"]) == 2


async def test_relations_lists_every_child_and_filters_by_type(chat: Chat) -> None:
    story = await tell_the_relations_story(chat)
    bob = chat.bob
    newest_first = [story.bob_reply, story.alice_reaction, story.bob_reaction, story.edit]
    assert await relation_ids(bob, chat, story.root) == newest_first
    assert (
        await relation_ids(bob, chat, story.root, direction=MessageDirection.front)
        == newest_first[::-1]
    )
    # One child per page: nio follows next_batch to the end, without gaps or repeats.
    assert await relation_ids(bob, chat, story.root, limit=1) == newest_first

    annotation, replace = RelationshipType.annotation, RelationshipType.replacement
    assert await relation_ids(bob, chat, story.root, replace) == [story.edit]
    assert await relation_ids(bob, chat, story.root, annotation) == [
        story.alice_reaction,
        story.bob_reaction,
    ]
    assert await relation_ids(bob, chat, story.root, annotation, "m.reaction") == [
        story.alice_reaction,
        story.bob_reaction,
    ]
    assert await relation_ids(bob, chat, story.root, annotation, "m.room.message") == []
    assert await relation_ids(bob, chat, story.root, RelationshipType.thread) == [story.bob_reply]
    assert await relation_ids(bob, chat, story.root, RelationshipType.reference) == []
    assert await relation_ids(bob, chat, story.other_root) == [story.alice_reply]


async def test_relations_and_threads_are_hidden_from_outsiders(chat: Chat) -> None:
    story = await tell_the_relations_story(chat)
    method, path = Api.room_get_event_relations(chat.dave.access_token, chat.room_id, story.root)
    answer = await chat.dave._send(
        RoomEventRelationsResponse, method, path, response_data=(chat.room_id, story.root)
    )
    assert isinstance(answer, RoomEventRelationsError), answer
    assert answer.status_code == "M_NOT_FOUND"  # spec: as for an event that does not exist

    method, path = Api.room_get_threads(chat.dave.access_token, chat.room_id)
    threads = await chat.dave._send(
        RoomThreadsResponse, method, path, response_data=(chat.room_id,)
    )
    assert isinstance(threads, RoomThreadsError), threads
    assert threads.status_code == "M_FORBIDDEN"


def assert_thread_summary(
    event: JsonObject, *, latest: str, latest_sender: str, participated: bool
) -> None:
    thread = bundled(event)["m.thread"]
    assert thread["count"] == 1
    assert thread["current_user_participated"] is participated
    assert thread["latest_event"]["event_id"] == latest
    assert thread["latest_event"]["sender"] == latest_sender
    assert thread["latest_event"]["content"]["m.relates_to"]["event_id"] == event["event_id"]


def assert_root_bundle(root: JsonObject, story: Relations, chat: Chat) -> None:
    """The edited, reacted-to thread root as any member reads it."""
    assert root["content"] == {"msgtype": "m.text", "body": "lunch at noon?"}  # kept (spec)
    relations = bundled(root)
    replacement = relations["m.replace"]
    assert replacement["event_id"] == story.edit
    assert replacement["sender"] == chat.alice.user_id
    assert replacement["content"]["m.new_content"] == {"msgtype": "m.text", "body": "lunch at one?"}
    assert "m.annotation" not in relations  # annotations are not aggregated by the server
    assert set(relations) == {"m.replace", "m.thread"}


async def test_edits_and_threads_are_bundled_where_events_are_read(chat: Chat) -> None:
    story = await tell_the_relations_story(chat)
    alice, bob = chat.alice, chat.bob
    await syncs_until(bob, lambda r: story.alice_reply in timeline_ids(r, chat.room_id), "all")
    await syncs_until(alice, lambda r: story.alice_reply in timeline_ids(r, chat.room_id), "all")

    for reader in (alice, bob):  # alice sent the root, bob replied: both took part
        via_event = await fetch_event(reader, chat, story.root)
        via_messages = (await newest_messages(reader, chat))[story.root]
        for root in (via_event, via_messages):
            assert_root_bundle(root, story, chat)
            assert_thread_summary(
                root, latest=story.bob_reply, latest_sender=bob.user_id, participated=True
            )

    # Alice's second thread, seen by bob who took no part in it.
    for other in (
        await fetch_event(bob, chat, story.other_root),
        (await newest_messages(bob, chat))[story.other_root],
    ):
        assert other["content"]["body"] == "who booked the room?"
        assert set(bundled(other)) == {"m.thread"}
        assert_thread_summary(
            other, latest=story.alice_reply, latest_sender=alice.user_id, participated=False
        )
    # The edit itself is not a thread root and bundles nothing.
    assert bundled(await fetch_event(bob, chat, story.edit)) == {}


async def test_threads_lists_roots_by_latest_activity(chat: Chat) -> None:
    story = await tell_the_relations_story(chat)
    alice, bob = chat.alice, chat.bob
    both = [story.other_root, story.root]  # alice's reply in her thread came last
    assert await thread_root_ids(bob, chat, ThreadInclusion.all) == both
    assert await thread_root_ids(alice, chat, ThreadInclusion.all) == both
    assert await thread_root_ids(bob, chat, ThreadInclusion.participated) == [story.root]
    assert await thread_root_ids(alice, chat, ThreadInclusion.participated) == both

    roots = {e.event_id: e async for e in bob.room_get_threads(chat.room_id)}
    root = roots[story.root]
    assert isinstance(root, RoomMessageText), root.source
    assert root.sender == alice.user_id
    assert_thread_summary(
        root.source, latest=story.bob_reply, latest_sender=bob.user_id, participated=True
    )


# --- search ------------------------------------------------------------------------------------

# "Hello, world" with full tashkeel; searched for without any diacritics.
ARABIC_WITH_TASHKEEL = "مَرْحَبًا بِالْعَالَمِ"
POLISH = "Żółw idzie powoli przez Łódź"


async def test_search_folds_arabic_tashkeel_and_polish_diacritics(chat: Chat) -> None:
    alice, bob, room_id = chat.alice, chat.bob, chat.room_id
    arabic = await send_text(alice, room_id, ARABIC_WITH_TASHKEEL)
    polish = await send_text(alice, room_id, POLISH)
    await send_text(alice, room_id, "nothing to find here")

    for term, expected, body in (
        ("مرحبا", arabic, ARABIC_WITH_TASHKEEL),
        ("بالعالم", arabic, ARABIC_WITH_TASHKEEL),
        ("zolw", polish, POLISH),
        ("lodz", polish, POLISH),
    ):
        events, count = await found_events(bob, term)
        assert [e.event_id for e in events] == [expected], (term, [e.source for e in events])
        [found] = events
        assert isinstance(found, RoomMessageText), found.source
        assert (found.sender, found.body, found.source["room_id"]) == (alice.user_id, body, room_id)
        assert count >= 1


async def test_search_finds_nothing_in_rooms_the_searcher_is_not_in(chat: Chat) -> None:
    await send_text(chat.alice, chat.room_id, ARABIC_WITH_TASHKEEL)
    events, count = await found_events(chat.dave, "مرحبا")
    assert (events, count) == ([], 0)


# --- presence: the presence scenario goes here (not tested yet) --------------------------------

# --- room tags: the tags scenario goes here (not tested yet) -----------------------------------
