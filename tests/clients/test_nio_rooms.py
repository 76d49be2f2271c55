"""matrix-nio in a room on the real server: invite, chat, paginate, redact, kick.

Two accounts made with `bastion user create` log in with nio's AsyncClient over HTTP on 127.0.0.1
and live through one room's story, each step checked the way a client sees it: in incremental
/sync responses (nio keeps `next_batch` itself) and in /messages pages.

Events are compared through their `source` dicts as well as nio's types, so an event nio could
not parse still shows up in an assertion message rather than vanishing.
"""

from __future__ import annotations

import re
from typing import Any

from nio import (
    AsyncClient,
    InviteMemberEvent,
    InviteNameEvent,
    JoinResponse,
    MessageDirection,
    RedactedEvent,
    RedactionEvent,
    RoomCreateResponse,
    RoomGetEventError,
    RoomGetEventResponse,
    RoomKickResponse,
    RoomMemberEvent,
    RoomMessagesResponse,
    RoomMessageText,
    RoomRedactResponse,
    RoomVisibility,
    SyncResponse,
)

from tests.clients.nio_fixtures import NioFactory, log_in, send_text, sync
from tests.clients.server import BastionServer

QUIET_SYNC_TIMEOUT_MS = 1000  # for syncs that expect nothing: they wait this long
ROOM_NAME = "Bastion nio room"
HISTORY_SIZE = 150
PAGE = 20
NUMBERED = re.compile(r"history message (\d+)")

JsonObject = dict[str, Any]


# --- helpers: one client action each, failing the test with the server's answer -----------------


def sources(events: list[Any]) -> list[JsonObject]:
    """The raw client-format events behind nio's parsed ones (BadEvent included)."""
    return [event.source for event in events]


def joined_timeline(response: SyncResponse, room_id: str) -> list[Any]:
    assert room_id in response.rooms.join, (room_id, response.rooms)
    return list(response.rooms.join[room_id].timeline.events)


def bodies(events: list[Any]) -> list[str]:
    """`content.body` of every m.room.message among the events, in order."""
    return [
        source["content"].get("body")
        for source in sources(events)
        if source["type"] == "m.room.message"
    ]


def event_ids_everywhere(response: SyncResponse) -> set[str]:
    """Every event ID in every room section of a sync response."""
    ids: set[str] = set()
    for section in (response.rooms.join, response.rooms.leave):
        for info in section.values():
            ids |= {s.get("event_id") for s in sources(info.timeline.events)}
            ids |= {s.get("event_id") for s in sources(info.state)}
    return ids


async def messages_page(
    client: AsyncClient,
    room_id: str,
    start: str | None,
    direction: MessageDirection,
    limit: int = PAGE,
) -> RoomMessagesResponse:
    response = await client.room_messages(room_id, start=start, direction=direction, limit=limit)
    assert isinstance(response, RoomMessagesResponse), response
    return response


async def paginate(
    client: AsyncClient, room_id: str, start: str | None, direction: MessageDirection
) -> tuple[list[JsonObject], list[str]]:
    """Every event from `start` on in `direction`, page by page until a page has no `end` (the
    empty page after the last events).

    Returns the events (in the order the pages give them) and the `end` tokens seen.
    """
    events: list[JsonObject] = []
    ends: list[str] = []
    token = start
    for _ in range(100):  # a bound, far above what this room needs
        page = await messages_page(client, room_id, token, direction)
        events += sources(page.chunk)
        if page.end is None:
            return events, ends
        assert page.end not in ends, f"pagination went in a circle at {page.end}"
        ends.append(page.end)
        token = page.end
    raise AssertionError("pagination did not end")


def numbers(events: list[JsonObject]) -> list[int]:
    """The numbers of the numbered history messages among `events`, in order."""
    found = []
    for source in events:
        match = NUMBERED.fullmatch(str(source.get("content", {}).get("body", "")))
        if source["type"] == "m.room.message" and match:
            found.append(int(match[1]))
    return found


def assert_no_duplicate_events(events: list[JsonObject]) -> None:
    ids = [source["event_id"] for source in events]
    duplicates = {event_id for event_id in ids if ids.count(event_id) > 1}
    assert not duplicates, f"events returned twice: {duplicates}"


# --- the story, step by step -------------------------------------------------------------------


async def create_room_and_invite(alice: AsyncClient, bob_id: str) -> str:
    response = await alice.room_create(
        visibility=RoomVisibility.private, name=ROOM_NAME, invite=[bob_id]
    )
    assert isinstance(response, RoomCreateResponse), response
    return response.room_id


async def accept_invite(bob: AsyncClient, room_id: str, bob_id: str, alice_id: str) -> None:
    invited = await sync(bob)
    assert room_id in invited.rooms.invite, invited.rooms
    stripped = invited.rooms.invite[room_id].invite_state
    raw = [event.source for event in stripped]
    own = [e for e in stripped if isinstance(e, InviteMemberEvent) and e.state_key == bob_id]
    assert own, raw
    assert own[0].membership == "invite"
    assert own[0].sender == alice_id
    names = [e.name for e in stripped if isinstance(e, InviteNameEvent)]
    assert names == [ROOM_NAME], raw

    joined = await bob.join(room_id)
    assert isinstance(joined, JoinResponse), joined
    assert joined.room_id == room_id

    after = await sync(bob)
    members = [
        s
        for s in sources(joined_timeline(after, room_id))
        if s["type"] == "m.room.member" and s["state_key"] == bob_id
    ]
    assert members, "bob's own join is not in his sync"
    assert members[-1]["content"]["membership"] == "join"
    assert room_id not in after.rooms.invite


async def chat_both_ways(alice: AsyncClient, bob: AsyncClient, room_id: str) -> None:
    await send_text(alice, room_id, "hello bob")
    seen_by_bob = await sync(bob)
    assert "hello bob" in bodies(joined_timeline(seen_by_bob, room_id))
    texts = [e for e in joined_timeline(seen_by_bob, room_id) if isinstance(e, RoomMessageText)]
    assert [(e.sender, e.body) for e in texts] == [(alice.user_id, "hello bob")]

    await send_text(bob, room_id, "hi alice")
    seen_by_alice = await sync(alice)
    assert "hi alice" in bodies(joined_timeline(seen_by_alice, room_id))

    # And the other way once more, now that alice's sync is incremental in the room too.
    await send_text(alice, room_id, "how are you?")
    assert bodies(joined_timeline(await sync(bob), room_id)) == ["hi alice", "how are you?"]
    await send_text(bob, room_id, "fine, thanks")
    assert bodies(joined_timeline(await sync(alice), room_id)) == ["how are you?", "fine, thanks"]


async def send_history(alice: AsyncClient, room_id: str) -> dict[int, str]:
    """Alice sends HISTORY_SIZE numbered messages; returns number -> event ID."""
    return {n: await send_text(alice, room_id, f"history message {n}") for n in range(HISTORY_SIZE)}


async def check_pagination(
    bob: AsyncClient, room_id: str, before_history: str, sent: dict[int, str]
) -> None:
    """Bob pages through the whole room backwards, then forwards, from his own tokens."""
    everything = list(range(HISTORY_SIZE))
    latest = await sync(bob)
    timeline = latest.rooms.join[room_id].timeline
    assert timeline.limited, "150 new events cannot fit in one default timeline"
    assert numbers(sources(timeline.events))[-1] == HISTORY_SIZE - 1

    # Backwards from bob's newest sync token down to the room's creation.
    backwards, _ = await paginate(bob, room_id, latest.next_batch, MessageDirection.back)
    assert_no_duplicate_events(backwards)
    assert numbers(backwards) == everything[::-1]
    assert [s["type"] for s in backwards][-1] == "m.room.create"  # reached the start
    by_number = {n: s["event_id"] for s in backwards for n in numbers([s])}
    assert by_number == sent

    # Forwards from the start of the room (no `from`): the same events, oldest first.
    forwards, _ = await paginate(bob, room_id, None, MessageDirection.front)
    assert_no_duplicate_events(forwards)
    assert numbers(forwards) == everything
    assert [s["event_id"] for s in forwards] == [s["event_id"] for s in backwards][::-1]

    # Forwards from the token bob held just before the history: exactly the history.
    since_before, ends = await paginate(bob, room_id, before_history, MessageDirection.front)
    assert numbers(since_before) == everything
    assert len(since_before) == HISTORY_SIZE
    assert len(ends) == -(-HISTORY_SIZE // PAGE)  # every page that read events has `end`


async def check_backwards_end_tokens_resume_forwards(
    bob: AsyncClient, room_id: str, latest: str
) -> None:
    """Forwards from the last `end` that backwards pagination gave: the events after it."""
    backwards, ends = await paginate(bob, room_id, latest, MessageDirection.back)
    assert ends
    resumed, _ = await paginate(bob, room_id, ends[-1], MessageDirection.front)
    newest_first = [s["event_id"] for s in backwards]
    assert [s["event_id"] for s in resumed] == newest_first[: len(resumed)][::-1]
    # The last `end` is past the last (partial) page, at the room's start: everything again.
    assert len(resumed) == len(backwards)


async def redact_one(
    alice: AsyncClient, bob: AsyncClient, room_id: str, target: str, before_history: str
) -> None:
    response = await alice.room_redact(room_id, target, reason="typo")
    assert isinstance(response, RoomRedactResponse), response

    seen = joined_timeline(await sync(bob), room_id)
    redactions = [e for e in seen if isinstance(e, RedactionEvent)]
    assert len(redactions) == 1, sources(seen)
    redaction = redactions[0]
    assert redaction.event_id == response.event_id
    assert redaction.sender == alice.user_id
    assert redaction.redacts == target
    assert redaction.reason == "typo"

    fetched = await bob.room_get_event(room_id, target)
    assert isinstance(fetched, RoomGetEventResponse), fetched
    assert fetched.event.source["content"] == {}
    assert isinstance(fetched.event, RedactedEvent), fetched.event.source
    assert fetched.event.redacter == alice.user_id

    # /messages shows it redacted too.
    page = await messages_page(bob, room_id, before_history, MessageDirection.front, limit=50)
    [in_page] = [s for s in sources(page.chunk) if s["event_id"] == target]
    assert in_page["content"] == {}
    assert in_page["unsigned"]["redacted_because"]["event_id"] == response.event_id


async def kick_bob(alice: AsyncClient, bob: AsyncClient, room_id: str) -> None:
    before_kick = bob.next_batch
    response = await alice.room_kick(room_id, bob.user_id, reason="enough")
    assert isinstance(response, RoomKickResponse), response

    kicked = await sync(bob)
    assert room_id not in kicked.rooms.join
    assert room_id in kicked.rooms.leave, kicked.rooms
    left = [
        e
        for e in kicked.rooms.leave[room_id].timeline.events
        if isinstance(e, RoomMemberEvent) and e.state_key == bob.user_id
    ]
    assert left, sources(kicked.rooms.leave[room_id].timeline.events)
    assert left[-1].membership == "leave"
    assert left[-1].sender == alice.user_id
    assert left[-1].content.get("reason") == "enough"
    kick_id = left[-1].event_id

    secret = "said after bob left"
    secret_id = await send_text(alice, room_id, secret)
    assert secret in bodies(joined_timeline(await sync(alice), room_id))

    # Bob's next syncs: nothing for him (they wait out their timeout), never the message.
    for _ in range(2):
        quiet = await sync(bob, timeout=QUIET_SYNC_TIMEOUT_MS)
        assert room_id not in quiet.rooms.join
        assert room_id not in quiet.rooms.leave  # already told; nothing new for him
        assert secret_id not in event_ids_everywhere(quiet)
    # Not in a full-state sync from before the kick either: the leave section stops at his leave.
    full = await sync(bob, since=before_kick, full_state=True)
    assert room_id not in full.rooms.join
    assert room_id in full.rooms.leave, full.rooms
    assert secret_id not in event_ids_everywhere(full)
    assert kick_id in {s["event_id"] for s in sources(full.rooms.leave[room_id].timeline.events)}

    # /messages from bob's newest token starts at his leave.
    page = await messages_page(bob, room_id, bob.next_batch, MessageDirection.back)
    ids = [s["event_id"] for s in sources(page.chunk)]
    assert secret_id not in ids
    assert ids[0] == kick_id
    forwards, _ = await paginate(bob, room_id, None, MessageDirection.front)
    assert secret_id not in {s["event_id"] for s in forwards}
    assert forwards[-1]["event_id"] == kick_id
    hidden = await bob.room_get_event(room_id, secret_id)
    assert isinstance(hidden, RoomGetEventError), hidden
    assert hidden.status_code == "M_NOT_FOUND"


# --- the test ----------------------------------------------------------------------------------


async def test_private_room_story(bastion_server: BastionServer, nio_client: NioFactory) -> None:
    alice_id = bastion_server.create_user("alice")
    bob_id = bastion_server.create_user("bob")
    alice, bob = nio_client("alice"), nio_client("bob")
    await log_in(alice, "nio rooms test")
    await log_in(bob, "nio rooms test")
    await sync(alice)  # initial syncs: from here on every sync is incremental
    await sync(bob)

    room_id = await create_room_and_invite(alice, bob_id)
    await accept_invite(bob, room_id, bob_id, alice_id)
    await sync(alice)
    await chat_both_ways(alice, bob, room_id)

    assert bodies(joined_timeline(await sync(bob), room_id)) == ["fine, thanks"]  # his own
    before_history = bob.next_batch
    sent = await send_history(alice, room_id)
    await check_pagination(bob, room_id, before_history, sent)
    await check_backwards_end_tokens_resume_forwards(bob, room_id, bob.next_batch)

    await redact_one(alice, bob, room_id, sent[42], before_history)
    await sync(alice)
    await kick_bob(alice, bob, room_id)
