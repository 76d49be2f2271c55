"""Relations: edits, reactions, threads, references; /relations, /threads, bundled aggregations."""

from __future__ import annotations

import secrets
from typing import Any

from tests.api.rooms_helpers import timeline
from tests.conftest import Homeserver, UserClient, errcode

V1 = "/_matrix/client/v1"


def relates(rel_type: str, event_id: str, **extra: Any) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": rel_type, "event_id": event_id, **extra}}


async def send(
    user: UserClient, room_id: str, content: dict[str, Any], event_type: str = "m.room.message"
):  # type: ignore[no-untyped-def]
    return await user.put(
        f"/rooms/{room_id}/send/{event_type}/{secrets.token_hex(8)}", json=content
    )


async def send_ok(
    user: UserClient, room_id: str, content: dict[str, Any], event_type: str = "m.room.message"
) -> str:
    resp = await send(user, room_id, content, event_type)
    assert resp.status_code == 200, resp.text
    event_id: str = resp.json()["event_id"]
    return event_id


async def react(user: UserClient, room_id: str, target: str, key: str):  # type: ignore[no-untyped-def]
    return await send(user, room_id, relates("m.annotation", target, key=key), "m.reaction")


async def edit(user: UserClient, room_id: str, target: str, body: str) -> str:
    content = {
        "msgtype": "m.text",
        "body": f"* {body}",
        "m.new_content": {"msgtype": "m.text", "body": body},
        **relates("m.replace", target),
    }
    return await send_ok(user, room_id, content)


async def reply_in_thread(user: UserClient, room_id: str, root: str, body: str) -> str:
    return await send_ok(
        user, room_id, {"msgtype": "m.text", "body": body, **relates("m.thread", root)}
    )


async def get_event(user: UserClient, room_id: str, event_id: str) -> dict[str, Any]:
    resp = await user.get(f"/rooms/{room_id}/event/{event_id}")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def bundle(event: dict[str, Any]) -> dict[str, Any]:
    relations: dict[str, Any] = event["unsigned"].get("m.relations", {})
    return relations


async def relations(user: UserClient, room_id: str, path: str, **params: Any):  # type: ignore[no-untyped-def]
    return await user.get(f"{V1}/rooms/{room_id}/relations/{path}", params=params)


async def all_children(user: UserClient, room_id: str, path: str, **params: Any) -> list[str]:
    """Every child ID, page by page, following next_batch."""
    seen: list[str] = []
    query = dict(params)
    for _ in range(100):
        page = (await relations(user, room_id, path, **query)).json()
        seen += [e["event_id"] for e in page["chunk"]]
        if "next_batch" not in page:
            return seen
        query["from"] = page["next_batch"]
    raise AssertionError("pagination did not end")


async def two_in_a_room(hs: Homeserver) -> tuple[UserClient, UserClient, str]:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    return alice, bob, room_id


async def test_duplicate_reaction_is_refused_before_it_is_stored(hs: Homeserver) -> None:
    alice, bob, room_id = await two_in_a_room(hs)
    message = await alice.send_text(room_id, "lunch?")
    first = await react(bob, room_id, message, "👍")
    assert first.status_code == 200
    assert errcode(await react(bob, room_id, message, "👍")) == (400, "M_DUPLICATE_ANNOTATION")
    assert (await react(bob, room_id, message, "🍕")).status_code == 200  # another key
    assert (await react(alice, room_id, message, "👍")).status_code == 200  # another sender
    children = await all_children(bob, room_id, f"{message}/m.annotation/m.reaction")
    assert len(children) == 3  # the refused one was never persisted
    # Annotations are not aggregated by the server (spec).
    assert bundle(await get_event(alice, room_id, message)) == {}
    # Once redacted, the first reaction no longer blocks the same one.
    redact = await bob.put(f"/rooms/{room_id}/redact/{first.json()['event_id']}/r1", json={})
    assert redact.status_code == 200
    assert (await react(bob, room_id, message, "👍")).status_code == 200
    # Resending with the same transaction ID returns the stored event, not a refusal.
    content = relates("m.annotation", message, key="🎉")
    path = f"/rooms/{room_id}/send/m.reaction/same-txn"
    again = [(await bob.put(path, json=content)).json()["event_id"] for _ in range(2)]
    assert again[0] == again[1]


async def test_latest_edit_is_bundled_and_the_original_content_kept(hs: Homeserver) -> None:
    alice, _, room_id = await two_in_a_room(hs)
    original = await alice.send_text(room_id, "I like cake")
    hs.clock.advance(1)
    await edit(alice, room_id, original, "I like chocolate cake")
    hs.clock.advance(1)
    latest = await edit(alice, room_id, original, "I like lemon cake")
    event = await get_event(alice, room_id, original)
    assert event["content"]["body"] == "I like cake"  # the server does not rewrite content
    replace = bundle(event)["m.replace"]
    assert replace["event_id"] == latest
    assert replace["content"]["m.new_content"]["body"] == "I like lemon cake"
    # Same origin_server_ts: the lexicographically largest event ID is the most recent.
    hs.clock.advance(1)
    tied = [await edit(alice, room_id, original, f"tie {i}") for i in range(3)]
    assert bundle(await get_event(alice, room_id, original))["m.replace"]["event_id"] == max(tied)
    # Redacting the latest edit reverts to the one before it.
    for edit_id in sorted(tied, reverse=True)[:2]:
        resp = await alice.put(f"/rooms/{room_id}/redact/{edit_id}/{edit_id[1:9]}", json={})
        assert resp.status_code == 200
    assert bundle(await get_event(alice, room_id, original))["m.replace"]["event_id"] == min(tied)


async def test_edit_by_another_user_is_ignored(hs: Homeserver) -> None:
    alice, bob, room_id = await two_in_a_room(hs)
    original = await alice.send_text(room_id, "the meeting is at 10")
    mine = await edit(alice, room_id, original, "the meeting is at 11")
    hs.clock.advance(5)
    forged = await edit(bob, room_id, original, "the meeting is cancelled")
    for reader in (alice, bob):
        event = await get_event(reader, room_id, original)
        assert event["content"]["body"] == "the meeting is at 10"
        assert bundle(event)["m.replace"]["event_id"] == mine
    # It is still a child event: /relations lists it, the aggregation does not count it.
    assert set(await all_children(alice, room_id, f"{original}/m.replace")) == {mine, forged}


async def test_invalid_edits_are_ignored(hs: Homeserver) -> None:
    alice, _, room_id = await two_in_a_room(hs)
    original = await alice.send_text(room_id, "v1")
    # No m.new_content: not a replacement at all.
    await send_ok(
        alice, room_id, {"msgtype": "m.text", "body": "* v2", **relates("m.replace", original)}
    )
    assert "m.replace" not in bundle(await get_event(alice, room_id, original))
    # A different event type may not replace the original.
    await send_ok(
        alice,
        room_id,
        {"m.new_content": {"body": "x"}, **relates("m.replace", original)},
        "org.example.other",
    )
    assert "m.replace" not in bundle(await get_event(alice, room_id, original))
    # An edit of an edit does not count, on the edit or on the original.
    first = await edit(alice, room_id, original, "v2")
    hs.clock.advance(1)
    await edit(alice, room_id, first, "v3")
    assert bundle(await get_event(alice, room_id, original))["m.replace"]["event_id"] == first
    assert "m.replace" not in bundle(await get_event(alice, room_id, first))
    # State events cannot be edited (and get no aggregations).
    name = (await alice.put(f"/rooms/{room_id}/state/m.room.name", json={"name": "Ward 9"})).json()[
        "event_id"
    ]
    await send_ok(
        alice,
        room_id,
        {"m.new_content": {"name": "x"}, **relates("m.replace", name)},
        "m.room.name",
    )
    state = await alice.get(f"/rooms/{room_id}/state/m.room.name", params={"format": "event"})
    assert "m.relations" not in state.json()["unsigned"]
    # A redacted original keeps no bundled edits.
    assert (await alice.put(f"/rooms/{room_id}/redact/{original}/r1", json={})).status_code == 200
    redacted = await get_event(alice, room_id, original)
    assert redacted["content"] == {}
    assert "m.replace" not in bundle(redacted)


async def test_relations_of_an_unknown_or_invisible_event_are_not_found(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(
        preset="public_chat",
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}
        ],
    )
    early = await alice.send_text(room_id, "before bob")
    await react(alice, room_id, early, "👀")
    other_room = await alice.create_room()
    elsewhere = await alice.send_text(other_room, "elsewhere")
    for user, path in [
        (carol, early),  # carol is not in the room
        (alice, "$unknown"),
        (alice, elsewhere),  # exists, but not in this room
    ]:
        assert errcode(await relations(user, room_id, path)) == (404, "M_NOT_FOUND")
    assert errcode(await carol.get(f"{V1}/rooms/{room_id}/threads")) == (403, "M_FORBIDDEN")
    await bob.join(room_id)
    # History before bob joined is hidden from him, and so are its children.
    assert errcode(await relations(bob, room_id, early)) == (404, "M_NOT_FOUND")
    # A visible parent: children sent after bob left are not shown to him.
    later = await alice.send_text(room_id, "after bob")
    seen = (await react(alice, room_id, later, "1")).json()["event_id"]
    assert (await bob.post(f"/rooms/{room_id}/leave", json={})).status_code == 200
    await react(alice, room_id, later, "2")
    assert await all_children(bob, room_id, later) == [seen]
    assert len(await all_children(alice, room_id, later)) == 2


async def test_relations_pagination_has_no_gap_or_duplicate(hs: Homeserver) -> None:
    alice, bob, room_id = await two_in_a_room(hs)
    root = await alice.send_text(room_id, "root")
    sent = []
    for i in range(25):
        sent.append(await reply_in_thread(bob if i % 2 else alice, room_id, root, f"r{i}"))
        if i % 5 == 0:
            await react(alice, room_id, root, str(i))  # other children interleaved
            await alice.send_text(room_id, f"unrelated {i}")
    backwards = await all_children(alice, room_id, f"{root}/m.thread", limit=7)
    assert backwards == sent[::-1]
    forwards = await all_children(alice, room_id, f"{root}/m.thread", limit=4, dir="f")
    assert forwards == sent
    # A page's tokens: next_batch continues, prev_batch echoes `from`, `to` stops the page.
    first = (await relations(alice, room_id, f"{root}/m.thread", limit=10)).json()
    assert "prev_batch" not in first
    second = (
        await relations(
            alice, room_id, f"{root}/m.thread", limit=10, **{"from": first["next_batch"]}
        )
    ).json()
    assert second["prev_batch"] == first["next_batch"]
    assert [e["event_id"] for e in second["chunk"]] == sent[::-1][10:20]
    bounded = (
        await relations(alice, room_id, f"{root}/m.thread", limit=50, to=first["next_batch"])
    ).json()
    assert [e["event_id"] for e in bounded["chunk"]] == sent[::-1][:10]
    assert "next_batch" not in bounded
    # Every rel_type, and the event type filter.
    assert len(await all_children(alice, room_id, root, limit=9)) == 25 + 5
    assert len(await all_children(alice, room_id, f"{root}/m.annotation/m.reaction")) == 5
    assert await all_children(alice, room_id, f"{root}/m.thread/m.reaction") == []
    # Parameters are checked.
    for bad in ({"dir": "x"}, {"limit": "many"}, {"from": "nope"}, {"recurse": "perhaps"}):
        assert errcode(await relations(alice, room_id, root, **bad)) == (400, "M_INVALID_PARAM")


async def test_recurse_follows_indirect_relations_three_levels_deep(hs: Homeserver) -> None:
    alice, _, room_id = await two_in_a_room(hs)
    parent = await alice.send_text(room_id, "poll")
    level1 = await send_ok(alice, room_id, relates("m.reference", parent), "org.example.vote")
    reaction = (await react(alice, room_id, level1, "✅")).json()["event_id"]
    level2 = await send_ok(alice, room_id, relates("m.reference", level1), "org.example.vote")
    level3 = await send_ok(alice, room_id, relates("m.reference", level2), "org.example.vote")
    await send_ok(alice, room_id, relates("m.reference", level3), "org.example.vote")  # level 4
    await send_ok(alice, room_id, relates("m.reference", reaction), "org.example.vote")  # level 3
    assert bundle(await get_event(alice, room_id, parent)) == {
        "m.reference": {"chunk": [{"event_id": level1}]}
    }
    direct = (await relations(alice, room_id, parent)).json()
    assert [e["event_id"] for e in direct["chunk"]] == [level1]
    assert "recursion_depth" not in direct
    deep = (await relations(alice, room_id, parent, recurse="true")).json()
    assert deep["recursion_depth"] == 3
    assert len(deep["chunk"]) == 5  # level 1, the reaction, levels 2 and 3, the vote on it
    assert level3 in [e["event_id"] for e in deep["chunk"]]
    # Filters apply at every level: a non-matching event cuts off what hangs below it.
    votes = await all_children(alice, room_id, f"{parent}/m.reference", recurse="true")
    assert votes[::-1] == [level1, level2, level3]
    shallow = (await relations(alice, room_id, parent, recurse="false")).json()
    assert (shallow["recursion_depth"], len(shallow["chunk"])) == (1, 1)


async def test_threads_list_and_participation(hs: Homeserver) -> None:
    alice, bob, room_id = await two_in_a_room(hs)
    roots = [await alice.send_text(room_id, f"topic {i}") for i in range(3)]
    await reply_in_thread(bob, room_id, roots[0], "bob in 0")
    await reply_in_thread(alice, room_id, roots[1], "alice in 1")
    await reply_in_thread(alice, room_id, roots[2], "alice in 2")
    latest = await reply_in_thread(alice, room_id, roots[0], "alice in 0")
    await alice.send_text(room_id, "not a thread")

    async def listed(user: UserClient, **params: Any) -> list[dict[str, Any]]:
        resp = await user.get(f"{V1}/rooms/{room_id}/threads", params=params)
        assert resp.status_code == 200, resp.text
        chunk: list[dict[str, Any]] = resp.json()["chunk"]
        return chunk

    # Newest thread activity first, each root with its thread summary.
    chunk = await listed(bob)
    assert [e["event_id"] for e in chunk] == [roots[0], roots[2], roots[1]]
    summary = bundle(chunk[0])["m.thread"]
    assert summary["latest_event"]["event_id"] == latest
    assert summary["count"] == 2
    assert summary["current_user_participated"] is True
    assert bundle(chunk[1])["m.thread"]["current_user_participated"] is False
    # Only threads bob started or replied in.
    assert [e["event_id"] for e in await listed(bob, include="participated")] == [roots[0]]
    bobs_root = await bob.send_text(room_id, "bob's own topic")
    await reply_in_thread(alice, room_id, bobs_root, "alice answers bob")
    participated = await listed(bob, include="participated")
    assert [e["event_id"] for e in participated] == [bobs_root, roots[0]]
    # Pagination, one thread at a time.
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 1}
    for _ in range(10):
        resp = (await bob.get(f"{V1}/rooms/{room_id}/threads", params=params)).json()
        seen += [e["event_id"] for e in resp["chunk"]]
        if "next_batch" not in resp:
            break
        params["from"] = resp["next_batch"]
    assert seen == [bobs_root, roots[0], roots[2], roots[1]]
    resp = await bob.get(f"{V1}/rooms/{room_id}/threads", params={"include": "mine"})
    assert errcode(resp) == (400, "M_INVALID_PARAM")


async def test_a_thread_cannot_start_from_a_child_event(hs: Homeserver) -> None:
    alice, _, room_id = await two_in_a_room(hs)
    root = await alice.send_text(room_id, "root")
    child = await reply_in_thread(alice, room_id, root, "in the thread")
    resp = await send(alice, room_id, {"body": "nested", **relates("m.thread", child)})
    assert errcode(resp) == (400, "M_UNKNOWN")
    # Replies (m.in_reply_to, no rel_type) are not relations and are not restricted.
    reply = {"body": "reply", "m.relates_to": {"m.in_reply_to": {"event_id": child}}}
    assert (await send(alice, room_id, reply)).status_code == 200
    assert await all_children(alice, room_id, child) == []


async def test_bundled_aggregations_on_every_read_path(hs: Homeserver) -> None:
    alice, bob, room_id = await two_in_a_room(hs)
    root = await alice.send_text(room_id, "root")
    first = await reply_in_thread(bob, room_id, root, "first")
    latest = await reply_in_thread(bob, room_id, root, "second")
    edited_latest = await edit(bob, room_id, latest, "second, edited")
    hs.clock.advance(1)
    root_edit = await edit(alice, room_id, root, "root, edited")
    references = [
        await send_ok(bob, room_id, relates("m.reference", root), "org.example.ref")
        for _ in range(2)
    ]

    def check(event: dict[str, Any]) -> None:
        relations = bundle(event)
        assert set(relations) == {"m.thread", "m.replace", "m.reference"}
        thread = relations["m.thread"]
        assert (thread["count"], thread["current_user_participated"]) == (2, True)
        # The latest thread event carries its own aggregations (its edit).
        assert thread["latest_event"]["event_id"] == latest
        assert bundle(thread["latest_event"])["m.replace"]["event_id"] == edited_latest
        assert relations["m.replace"]["event_id"] == root_edit
        assert relations["m.reference"] == {"chunk": [{"event_id": r} for r in references]}

    check(await get_event(bob, room_id, root))
    chunk = (await bob.get(f"/rooms/{room_id}/messages", params={"limit": 20})).json()["chunk"]
    check(next(e for e in chunk if e["event_id"] == root))
    context = (await bob.get(f"/rooms/{room_id}/context/{first}")).json()
    check(next(e for e in context["events_before"] if e["event_id"] == root))
    sync = await bob.sync(filter='{"room": {"timeline": {"limit": 20}}}')
    check(next(e for e in timeline(sync, room_id) if e["event_id"] == root))
    threads = (await bob.get(f"{V1}/rooms/{room_id}/threads")).json()["chunk"]
    check(threads[0])
    # Participation is the viewer's: alice sent the root, carol neither it nor a thread event.
    assert bundle(await get_event(alice, room_id, root))["m.thread"]["current_user_participated"]
    carol = await hs.register_user("carol")
    await carol.join(room_id)
    thread = bundle(await get_event(carol, room_id, root))["m.thread"]
    assert thread["current_user_participated"] is False


async def test_redacted_relations_stop_counting(hs: Homeserver) -> None:
    alice, bob, room_id = await two_in_a_room(hs)
    root = await alice.send_text(room_id, "root")
    first = await reply_in_thread(bob, room_id, root, "first")
    second = await reply_in_thread(bob, room_id, root, "second")
    reference = await send_ok(bob, room_id, relates("m.reference", root), "org.example.ref")
    assert (await bob.put(f"/rooms/{room_id}/redact/{second}/r1", json={})).status_code == 200
    assert (await bob.put(f"/rooms/{room_id}/redact/{reference}/r2", json={})).status_code == 200
    relations = bundle(await get_event(alice, room_id, root))
    assert relations["m.thread"]["count"] == 1
    assert relations["m.thread"]["latest_event"]["event_id"] == first
    assert "m.reference" not in relations
    assert await all_children(alice, room_id, root) == [first]
    # A redacted root keeps its thread; a thread with no live events leaves the list.
    assert (await alice.put(f"/rooms/{room_id}/redact/{root}/r3", json={})).status_code == 200
    threads = (await alice.get(f"{V1}/rooms/{room_id}/threads")).json()["chunk"]
    assert [(e["event_id"], e["content"]) for e in threads] == [(root, {})]
    assert bundle(threads[0])["m.thread"]["count"] == 1
    assert (await bob.put(f"/rooms/{room_id}/redact/{first}/r4", json={})).status_code == 200
    assert (await alice.get(f"{V1}/rooms/{room_id}/threads")).json()["chunk"] == []


async def test_bundling_costs_a_fixed_number_of_queries_per_page(hs: Homeserver) -> None:
    alice, bob, room_id = await two_in_a_room(hs)

    async def queries_for_page(parents: int) -> int:
        for i in range(parents):
            root = await alice.send_text(room_id, f"root {i}")
            await reply_in_thread(bob, room_id, root, "reply")
            await edit(alice, room_id, root, f"root {i}, edited")
            await send_ok(bob, room_id, relates("m.reference", root), "org.example.ref")
        before = hs.runtime.db.query_count
        page = await bob.get(f"/rooms/{room_id}/messages", params={"limit": 4 * parents})
        bundled = [e for e in page.json()["chunk"] if "m.thread" in bundle(e)]
        assert len(bundled) == parents
        return hs.runtime.db.query_count - before

    await queries_for_page(1)  # warm the room-version cache
    bundled = await queries_for_page(2)
    assert await queries_for_page(12) == bundled
    # A room without relationships after a page's oldest event: no query for aggregations.
    # With them: candidates, the viewer's membership, candidates of the bundled events.
    quiet = await alice.create_room(preset="public_chat")
    await bob.join(quiet)
    await bob.get(f"/rooms/{quiet}/messages", params={"limit": 1})  # warm the cache
    for i in range(8):
        await alice.send_text(quiet, f"nothing relates to me {i}")
    before = hs.runtime.db.query_count
    await bob.get(f"/rooms/{quiet}/messages", params={"limit": 8})
    assert hs.runtime.db.query_count - before == bundled - 3
