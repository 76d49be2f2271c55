"""POST /search: matching in English, Polish and Arabic, privacy, ordering, paging, context."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bastion.store.sql.search import search_store_for
from bastion.workers.backfills import SearchIndexBackfill
from bastion.workers.base import run_to_completion
from tests.conftest import Homeserver, UserClient


async def search_raw(
    user: UserClient, term: str, next_batch: str | None = None, **criteria: Any
) -> httpx.Response:
    body = {"search_categories": {"room_events": {"search_term": term, **criteria}}}
    params = {"next_batch": next_batch} if next_batch is not None else None
    return await user.post("/search", json=body, params=params)


async def search(
    user: UserClient, term: str, next_batch: str | None = None, **criteria: Any
) -> dict[str, Any]:
    """The `room_events` part of a successful search."""
    resp = await search_raw(user, term, next_batch, **criteria)
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()["search_categories"]["room_events"]
    return found


def found_bodies(found: dict[str, Any]) -> list[str]:
    return [r["result"]["content"]["body"] for r in found["results"]]


async def room_of(hs: Homeserver, *messages: str) -> tuple[UserClient, str]:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="public_chat")
    for body in messages:
        await alice.send_text(room_id, body)
    return alice, room_id


async def test_finds_messages_with_rank_highlights_and_count(hs: Homeserver) -> None:
    alice, room_id = await room_of(
        hs, "The martians have landed", "nothing to see", "Martians and men: martians!"
    )
    found = await search(alice, "martians")
    assert sorted(found_bodies(found)) == [
        "Martians and men: martians!",
        "The martians have landed",
    ]
    assert found["count"] == 2
    assert "next_batch" not in found
    assert all(r["result"]["room_id"] == room_id for r in found["results"])
    assert found["results"][0]["rank"] >= found["results"][1]["rank"] > 0
    assert found["results"][0]["result"]["content"]["body"] == "Martians and men: martians!"
    assert {"martians", "Martians"} <= set(found["highlights"])
    assert "context" not in found["results"][0]


async def test_every_word_must_match_and_words_match_as_prefixes(hs: Homeserver) -> None:
    alice, _ = await room_of(hs, "deploying the new release", "release notes", "deploy failed")
    assert found_bodies(await search(alice, "deploy release")) == ["deploying the new release"]
    assert sorted(found_bodies(await search(alice, "deploy"))) == [
        "deploy failed",
        "deploying the new release",
    ]
    assert found_bodies(await search(alice, "de")) == []  # too short to be a prefix


async def test_polish_matches_without_diacritics(hs: Homeserver) -> None:
    alice, _ = await room_of(
        hs,
        "Żółw idzie powoli przez Łódź",
        "Zażółć gęślą jaźń",
        "Widziałem dwa żółwie w zoo",
        "kot",
    )
    assert sorted(found_bodies(await search(alice, "zolw"))) == [
        "Widziałem dwa żółwie w zoo",
        "Żółw idzie powoli przez Łódź",
    ]
    assert found_bodies(await search(alice, "lodz")) == ["Żółw idzie powoli przez Łódź"]
    assert found_bodies(await search(alice, "ŁÓDŹ")) == ["Żółw idzie powoli przez Łódź"]
    assert found_bodies(await search(alice, "zazolc gesla jazn")) == ["Zażółć gęślą jaźń"]
    found = await search(alice, "zolw")
    assert {"zolw", "Żółw", "żółwie"} <= set(found["highlights"])


async def test_arabic_matches_regardless_of_tashkeel_tatweel_and_letter_variants(
    hs: Homeserver,
) -> None:
    alice, _ = await room_of(
        hs,
        "قَرَأْتُ الْكِتَابَ أَمْسِ",  # with tashkeel
        "المـــدرســـة مغلقة اليوم",  # with tatweel, ta marbuta
        "إسلام ذهب إلى السوق",  # alef with hamza below, alef maqsura
        "سأل عن مسؤول المشروع",  # hamza on waw
        "مرحبا بالجميع",
    )
    assert found_bodies(await search(alice, "الكتاب")) == ["قَرَأْتُ الْكِتَابَ أَمْسِ"]
    assert found_bodies(await search(alice, "قرات")) == ["قَرَأْتُ الْكِتَابَ أَمْسِ"]
    assert found_bodies(await search(alice, "المدرسه")) == ["المـــدرســـة مغلقة اليوم"]
    assert found_bodies(await search(alice, "المدرسة")) == ["المـــدرســـة مغلقة اليوم"]
    assert found_bodies(await search(alice, "اسلام الي")) == ["إسلام ذهب إلى السوق"]
    assert found_bodies(await search(alice, "مسوول")) == ["سأل عن مسؤول المشروع"]
    # Diacritics in the query do not stop it matching plain text either.
    assert found_bodies(await search(alice, "مَرْحَبًا")) == ["مرحبا بالجميع"]
    found = await search(alice, "الكتاب")
    assert "الْكِتَابَ" in found["highlights"]


async def test_who_left_finds_nothing_sent_after_leaving(hs: Homeserver) -> None:
    alice, room_id = await room_of(hs)
    bob = await hs.register_user("bob")
    await bob.join(room_id)
    await alice.send_text(room_id, "budget draft while bob is here")
    await bob.post(f"/rooms/{room_id}/leave", json={})
    await alice.send_text(room_id, "budget final after bob left")
    found = await search(bob, "budget")
    assert found_bodies(found) == ["budget draft while bob is here"]
    assert found["count"] == 1
    assert "final" not in found["highlights"]
    assert len(found_bodies(await search(alice, "budget"))) == 2
    # Context stops at the leave too.
    found = await search(bob, "draft", event_context={"after_limit": 10})
    after = found["results"][0]["context"]["events_after"]
    assert all(e["content"].get("body") != "budget final after bob left" for e in after)


async def test_joined_history_hides_what_came_before_joining(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        preset="public_chat",
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}
        ],
    )
    await alice.send_text(room_id, "secret plan before bob")
    await bob.join(room_id)
    await alice.send_text(room_id, "public plan after bob")
    found = await search(bob, "plan")
    assert found_bodies(found) == ["public plan after bob"]
    assert found["count"] == 1
    found = await search(bob, "public", event_context={"before_limit": 10})
    before = found["results"][0]["context"]["events_before"]
    assert all(e["content"].get("body") != "secret plan before bob" for e in before)


async def test_shared_history_is_found_after_joining(hs: Homeserver) -> None:
    _alice, room_id = await room_of(hs, "roadmap for next year")
    bob = await hs.register_user("bob")
    assert (await search(bob, "roadmap"))["results"] == []  # not in the room, even if public
    await bob.join(room_id)
    assert found_bodies(await search(bob, "roadmap")) == ["roadmap for next year"]


async def test_redacted_messages_are_not_found(hs: Homeserver) -> None:
    alice, room_id = await room_of(hs, "password is hunter2")
    event_id = (await search(alice, "hunter2"))["results"][0]["result"]["event_id"]
    resp = await alice.put(f"/rooms/{room_id}/redact/{event_id}/txn1", json={})
    assert resp.status_code == 200, resp.text
    found = await search(alice, "hunter2")
    assert found["results"] == []
    assert found["count"] == 0


async def test_recent_order_pages_through_every_result(hs: Homeserver) -> None:
    alice, _ = await room_of(hs, *[f"report number {i}" for i in range(7)], "unrelated")
    first = await search(alice, "report", order_by="recent", filter={"limit": 3})
    assert found_bodies(first) == [f"report number {i}" for i in (6, 5, 4)]
    assert first["count"] == 7
    second = await search(
        alice, "report", first["next_batch"], order_by="recent", filter={"limit": 3}
    )
    assert found_bodies(second) == [f"report number {i}" for i in (3, 2, 1)]
    third = await search(
        alice, "report", second["next_batch"], order_by="recent", filter={"limit": 3}
    )
    assert found_bodies(third) == ["report number 0"]
    assert "next_batch" not in third
    assert third["count"] == 7


async def test_rank_order_pages_without_repeats(hs: Homeserver) -> None:
    alice, _ = await room_of(hs, *[f"invoice {'paid ' * (i % 3)}{i}" for i in range(5)])
    seen: list[str] = []
    token = None
    for _ in range(5):
        page = await search(alice, "invoice", token, filter={"limit": 2})
        seen += found_bodies(page)
        token = page.get("next_batch")
        if token is None:
            break
    assert sorted(seen) == sorted(f"invoice {'paid ' * (i % 3)}{i}" for i in range(5))


async def test_filter_by_rooms_and_senders(hs: Homeserver) -> None:
    alice, first = await room_of(hs, "lunch in room one")
    bob = await hs.register_user("bob")
    second = await alice.create_room(preset="public_chat")
    await bob.join(second)
    await alice.send_text(second, "lunch from alice in room two")
    await bob.send_text(second, "lunch from bob in room two")
    assert found_bodies(await search(alice, "lunch", filter={"rooms": [first]})) == [
        "lunch in room one"
    ]
    assert sorted(found_bodies(await search(alice, "lunch", filter={"not_rooms": [first]}))) == [
        "lunch from alice in room two",
        "lunch from bob in room two",
    ]
    assert found_bodies(await search(alice, "lunch", filter={"senders": [bob.user_id]})) == [
        "lunch from bob in room two"
    ]
    not_alice = await search(alice, "lunch", filter={"not_senders": [alice.user_id]})
    assert found_bodies(not_alice) == ["lunch from bob in room two"]
    grouped = await search(alice, "lunch", groupings={"group_by": [{"key": "room_id"}]})
    groups = grouped["groups"]["room_id"]
    assert sorted(len(g["results"]) for g in groups.values()) == [1, 2]
    assert sorted(g["order"] for g in groups.values()) == [1, 2]


async def test_room_names_and_topics_are_searchable_by_key(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(name="Żeglarstwo", topic="regaty na Mazurach")
    await alice.send_text(room_id, "zeglarstwo to pasja")
    names = await search(alice, "zeglarstwo", keys=["content.name"])
    assert [r["result"]["type"] for r in names["results"]] == ["m.room.name"]
    topics = await search(alice, "mazurach", keys=["content.topic"])
    assert [r["result"]["type"] for r in topics["results"]] == ["m.room.topic"]
    assert len((await search(alice, "zeglarstwo"))["results"]) == 2
    bodies_only = await search(alice, "zeglarstwo", keys=["content.body"])
    assert found_bodies(bodies_only) == ["zeglarstwo to pasja"]


async def test_event_context_profiles_and_state(hs: Homeserver) -> None:
    alice, room_id = await room_of(hs, "one", "two", "the needle", "three", "four")
    found = await search(
        alice,
        "needle",
        event_context={"before_limit": 1, "after_limit": 2, "include_profile": True},
        include_state=True,
    )
    context = found["results"][0]["context"]
    assert [e["content"]["body"] for e in context["events_before"]] == ["two"]
    assert [e["content"]["body"] for e in context["events_after"]] == ["three", "four"]
    assert context["start"].startswith("s")
    assert context["end"].startswith("s")
    assert alice.user_id in context["profile_info"]
    state_types = {e["type"] for e in found["state"][room_id]}
    assert {"m.room.create", "m.room.member"} <= state_types


async def test_query_syntax_characters_are_plain_text(hs: Homeserver) -> None:
    alice, _ = await room_of(hs, "cats AND dogs OR NOT birds", 'it\'s a "quote" (test) *star*')
    assert found_bodies(await search(alice, "AND OR NOT")) == ["cats AND dogs OR NOT birds"]
    assert len((await search(alice, "it's \"quote (test) *star* NEAR -x"))["results"]) == 0
    assert found_bodies(await search(alice, '"quote" (test) *star*')) == [
        'it\'s a "quote" (test) *star*'
    ]


async def test_no_words_finds_nothing(hs: Homeserver) -> None:
    alice, _ = await room_of(hs, "something")
    found = await search(alice, "  ?! ")
    assert found["results"] == []
    assert found["count"] == 0
    assert found["highlights"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"search_categories": {}},
        {"search_categories": {"room_events": {}}},
        {"search_categories": {"room_events": {"search_term": "x", "order_by": "random"}}},
        {"search_categories": {"room_events": {"search_term": "x", "keys": ["content.url"]}}},
    ],
)
async def test_malformed_requests_are_bad_json(hs: Homeserver, body: dict[str, Any]) -> None:
    alice = await hs.register_user("alice")
    resp = await alice.post("/search", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["errcode"] == "M_BAD_JSON"


@pytest.mark.parametrize("token", ["nonsense", "r12", "t5_1", "r-1_0"])
async def test_invalid_next_batch_is_invalid_param(hs: Homeserver, token: str) -> None:
    alice = await hs.register_user("alice")
    resp = await search_raw(alice, "anything", token)  # rank order: a `t` token is not its own
    assert resp.status_code == 400, resp.text
    assert resp.json()["errcode"] == "M_INVALID_PARAM"


async def test_search_needs_a_token(hs: Homeserver) -> None:
    resp = await hs.http.post(
        "/_matrix/client/v3/search",
        json={"search_categories": {"room_events": {"search_term": "x"}}},
    )
    assert resp.status_code == 401
    assert resp.json()["errcode"] == "M_MISSING_TOKEN"


async def test_backfill_indexes_events_stored_before_the_index(hs: Homeserver) -> None:
    alice, _ = await room_of(hs, "archived message one", "archived message two")
    db = hs.runtime.db
    store = search_store_for(db.dialect)
    # As if the messages predated the index: no rows, everything still to backfill.
    await db.execute("DELETE FROM event_search")
    await db.execute("UPDATE event_search_backfill SET upto = ?", 1_000_000)
    assert (await search(alice, "archived"))["results"] == []
    assert await run_to_completion(SearchIndexBackfill(db, store, batch=1)) == 2
    assert len((await search(alice, "archived"))["results"]) == 2
    assert await run_to_completion(SearchIndexBackfill(db, store)) == 0  # done: nothing to read


async def test_query_count_does_not_grow_with_the_number_of_rooms(hs: Homeserver) -> None:
    alice, _ = await room_of(hs, "needle in the first room")
    for i in range(5):
        room_id = await alice.create_room(preset="public_chat")
        await alice.send_text(room_id, f"needle number {i}")
    await search(alice, "needle")  # warm the room-version cache
    db = hs.runtime.db
    before = db.query_count
    found = await search(alice, "needle")
    assert len(found["results"]) == 6
    # token + memberships + index window + formatting; no per-room or per-result queries
    assert db.query_count - before <= 4
