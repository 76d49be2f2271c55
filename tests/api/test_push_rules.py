"""Push rules API, unread notification counts in /sync, and GET /notifications."""

from __future__ import annotations

from typing import Any

from tests.api.rooms_helpers import timeline
from tests.conftest import Homeserver, UserClient, errcode


def unread(sync: dict[str, Any], room_id: str) -> dict[str, int]:
    counts: dict[str, int] = sync["rooms"]["join"][room_id]["unread_notifications"]
    return counts


async def group_room(hs: Homeserver) -> tuple[UserClient, UserClient, UserClient, str]:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    carol = await hs.register_user("carol")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    await carol.join(room_id)
    return alice, bob, carol, room_id


async def send(user: UserClient, room_id: str, content: dict[str, Any], txn: str) -> str:
    resp = await user.put(f"/rooms/{room_id}/send/m.room.message/{txn}", json=content)
    assert resp.status_code == 200, resp.text
    event_id: str = resp.json()["event_id"]
    return event_id


async def test_default_rules_are_served_and_in_initial_sync(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    resp = await alice.get("/pushrules/")
    assert resp.status_code == 200
    rules = resp.json()["global"]
    assert set(rules) == {"override", "content", "room", "sender", "underride"}
    override_ids = [r["rule_id"] for r in rules["override"]]
    assert override_ids[0] == ".m.rule.master"
    assert ".m.rule.is_user_mention" in override_ids
    mention = next(r for r in rules["override"] if r["rule_id"] == ".m.rule.is_user_mention")
    assert mention["conditions"][0]["value"] == alice.user_id
    assert mention["default"] is True
    assert mention["enabled"] is True
    assert [r["rule_id"] for r in rules["underride"]][-2:] == [
        ".m.rule.message",
        ".m.rule.encrypted",
    ]
    assert (await alice.get("/pushrules/global/")).json() == rules

    sync = await alice.sync()
    pushed = [e for e in sync["account_data"]["events"] if e["type"] == "m.push_rules"]
    assert pushed == [{"type": "m.push_rules", "content": {"global": rules}}]


async def test_put_get_delete_user_rules_with_ordering(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    token = (await alice.sync())["next_batch"]
    base = "/pushrules/global/content"
    assert (
        await alice.put(f"{base}/cake", json={"pattern": "cake", "actions": ["notify"]})
    ).status_code == 200
    resp = await alice.put(
        f"{base}/lie",
        json={"pattern": "cake*lie", "actions": ["notify"]},
        params={"before": "cake"},
    )
    assert resp.status_code == 200
    await alice.put(f"{base}/tea", json={"pattern": "tea", "actions": []}, params={"after": "cake"})
    content = (await alice.get("/pushrules/")).json()["global"]["content"]
    assert [r["rule_id"] for r in content] == ["lie", "cake", "tea"]
    cake = (await alice.get(f"{base}/cake")).json()
    assert cake == {
        "rule_id": "cake",
        "pattern": "cake",
        "actions": ["notify"],
        "default": False,
        "enabled": True,
    }

    # The change reaches the user's other clients through /sync.
    sync = await alice.sync(since=token)
    pushed = [e for e in sync["account_data"]["events"] if e["type"] == "m.push_rules"]
    assert [r["rule_id"] for r in pushed[-1]["content"]["global"]["content"]] == [
        "lie",
        "cake",
        "tea",
    ]

    assert (await alice.put(f"{base}/cake/enabled", json={"enabled": False})).status_code == 200
    assert (await alice.get(f"{base}/cake/enabled")).json() == {"enabled": False}
    await alice.put(
        f"{base}/cake/actions", json={"actions": ["notify", {"set_tweak": "highlight"}]}
    )
    assert (await alice.get(f"{base}/cake/actions")).json() == {
        "actions": ["notify", {"set_tweak": "highlight"}]
    }
    # Replacing a rule keeps its place and its enabled flag.
    await alice.put(f"{base}/cake", json={"pattern": "cakes", "actions": ["notify"]})
    again = (await alice.get(f"{base}/cake")).json()
    assert again["pattern"] == "cakes"
    assert again["enabled"] is False
    assert (await alice.delete(f"{base}/cake")).status_code == 200
    assert errcode(await alice.get(f"{base}/cake")) == (404, "M_NOT_FOUND")
    assert errcode(await alice.delete(f"{base}/cake")) == (404, "M_NOT_FOUND")

    # Server-default rules: readable, can be disabled, never deleted or replaced.
    master = "/pushrules/global/override/.m.rule.master"
    assert (await alice.get(f"{master}/enabled")).json() == {"enabled": False}
    assert (await alice.put(f"{master}/enabled", json={"enabled": True})).status_code == 200
    assert (await alice.get(master)).json()["enabled"] is True
    assert errcode(await alice.delete(master)) == (400, "M_UNKNOWN")
    assert errcode(await alice.put(master, json={"actions": []})) == (400, "M_UNKNOWN")


async def test_bad_push_rule_requests_get_matrix_errors(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    base = "/pushrules/global"
    assert errcode(await alice.put(f"{base}/content/x", json={"actions": ["notify"]})) == (
        400,
        "M_UNKNOWN",
    )
    assert errcode(await alice.put(f"{base}/override/x", json={"conditions": []})) == (
        400,
        "M_BAD_JSON",
    )
    assert errcode(await alice.put(f"{base}/override/x", json={"actions": ["explode"]})) == (
        400,
        "M_UNKNOWN",
    )
    assert errcode(await alice.put(f"{base}/override/x", json={"actions": [{"x": 1}]})) == (
        400,
        "M_UNKNOWN",
    )
    resp = await alice.put(
        f"{base}/override/x", json={"actions": [], "conditions": [{"key": "type"}]}
    )
    assert errcode(resp) == (400, "M_BAD_JSON")
    assert errcode(await alice.put(f"{base}/sideways/x", json={"actions": []})) == (
        400,
        "M_INVALID_PARAM",
    )
    assert errcode(await alice.get(f"{base}/sideways/x")) == (400, "M_INVALID_PARAM")
    resp = await alice.put(f"{base}/override/x", json={"actions": []}, params={"before": "nope"})
    assert errcode(resp) == (400, "M_UNKNOWN")
    assert errcode(await alice.put(f"{base}/override/x/enabled", json={"enabled": True})) == (
        404,
        "M_NOT_FOUND",
    )
    assert errcode(
        await alice.put(f"{base}/override/.m.rule.master/enabled", json={"enabled": "yes"})
    ) == (400, "M_BAD_JSON")
    resp = await alice.put(f"{base}/override/x", content=b"{not json")
    assert resp.status_code == 400
    assert resp.json()["errcode"] in ("M_NOT_JSON", "M_BAD_JSON")
    assert errcode(await alice.get("/notifications", params={"limit": "many"})) == (
        400,
        "M_INVALID_PARAM",
    )
    assert errcode(await alice.get("/notifications", params={"from": "abc"})) == (
        400,
        "M_INVALID_PARAM",
    )
    hs_resp = await alice.http.get("/_matrix/client/v3/pushrules/")
    assert errcode(hs_resp) == (401, "M_MISSING_TOKEN")
    # Nothing was stored by the refused requests.
    assert (await alice.get("/pushrules/")).json()["global"]["override"][1][
        "rule_id"
    ] == ".m.rule.suppress_notices"


async def test_unread_counts_follow_messages_mentions_and_receipts(hs: Homeserver) -> None:
    alice, bob, carol, room_id = await group_room(hs)
    sync = await bob.sync()
    assert unread(sync, room_id) == {"notification_count": 0, "highlight_count": 0}
    token = sync["next_batch"]

    await send(alice, room_id, {"msgtype": "m.text", "body": "hello all"}, "1")
    await send(alice, room_id, {"msgtype": "m.notice", "body": "bot says"}, "2")
    mention = await send(alice, room_id, {
        "msgtype": "m.text", "body": "bob, look", "m.mentions": {"user_ids": [bob.user_id]},
    }, "3")  # fmt: skip
    sync = await bob.sync(since=token)
    # The new count arrives in the same response as the events themselves.
    assert len(timeline(sync, room_id)) == 3
    assert unread(sync, room_id) == {"notification_count": 2, "highlight_count": 1}
    carol_sync = await carol.sync()
    assert unread(carol_sync, room_id) == {"notification_count": 2, "highlight_count": 0}
    # The sender's own messages never count for them.
    assert unread(await alice.sync(), room_id) == {"notification_count": 0, "highlight_count": 0}

    token = sync["next_batch"]
    resp = await bob.post(f"/rooms/{room_id}/receipt/m.read.private/{mention}", json={})
    assert resp.status_code == 200
    sync = await bob.sync(since=token)
    assert unread(sync, room_id) == {"notification_count": 0, "highlight_count": 0}
    # Carol still has hers.
    assert unread(await carol.sync(), room_id)["notification_count"] == 2


async def test_sending_a_message_marks_earlier_notifications_read(hs: Homeserver) -> None:
    alice, bob, _carol, room_id = await group_room(hs)
    await alice.send_text(room_id, "one")
    await alice.send_text(room_id, "two")
    assert unread(await bob.sync(), room_id)["notification_count"] == 2
    await bob.send_text(room_id, "replying")
    assert unread(await bob.sync(), room_id)["notification_count"] == 0


async def test_room_mention_needs_permission_and_one_to_one_rooms_notify(hs: Homeserver) -> None:
    alice, bob, carol, room_id = await group_room(hs)
    everyone = {"msgtype": "m.text", "body": "@room meeting", "m.mentions": {"room": True}}
    await send(carol, room_id, everyone, "c1")  # carol has power 0 < 50
    await send(alice, room_id, everyone, "a1")  # alice created the room
    counts = unread(await bob.sync(), room_id)
    assert counts == {"notification_count": 2, "highlight_count": 1}

    direct = await alice.create_room(preset="private_chat", invite=[bob.user_id])
    invite_sync = await bob.sync()
    assert direct in invite_sync["rooms"]["invite"]
    await bob.join(direct)
    await send(alice, direct, {"msgtype": "m.text", "body": "psst"}, "d1")
    resp = await bob.get("/notifications")
    actions = [n["actions"] for n in resp.json()["notifications"] if n["room_id"] == direct]
    # newest first: the one-to-one message (with sound), then the invite (with sound)
    assert actions[0] == ["notify", {"set_tweak": "sound", "value": "default"}]
    assert any(n["event"]["type"] == "m.room.member" for n in resp.json()["notifications"])


async def test_user_rules_change_what_counts(hs: Homeserver) -> None:
    alice, bob, _carol, room_id = await group_room(hs)
    # Mute the room, and highlight a keyword.
    assert (
        await bob.put(f"/pushrules/global/room/{room_id}", json={"actions": []})
    ).status_code == 200
    await alice.send_text(room_id, "muted chatter")
    assert unread(await bob.sync(), room_id)["notification_count"] == 0
    await bob.delete(f"/pushrules/global/room/{room_id}")
    await bob.put(
        "/pushrules/global/content/urgent",
        json={"pattern": "pilne", "actions": ["notify", {"set_tweak": "highlight"}]},
    )
    await alice.send_text(room_id, "To jest PILNE!")
    await alice.send_text(room_id, "niepilne sprawy")  # not a whole word
    assert unread(await bob.sync(), room_id) == {"notification_count": 2, "highlight_count": 1}
    # Master rule on: nothing notifies any more.
    await bob.put("/pushrules/global/override/.m.rule.master/enabled", json={"enabled": True})
    await alice.send_text(room_id, "pilne again")
    assert unread(await bob.sync(), room_id) == {"notification_count": 2, "highlight_count": 1}


async def test_thread_counts_are_separate_and_cleared_by_thread_receipts(hs: Homeserver) -> None:
    alice, bob, _carol, room_id = await group_room(hs)
    root = await alice.send_text(room_id, "thread root")
    reply = await send(alice, room_id, {
        "msgtype": "m.text", "body": "in thread",
        "m.relates_to": {"rel_type": "m.thread", "event_id": root},
    }, "t1")  # fmt: skip
    await send(alice, room_id, {
        "msgtype": "m.text", "body": "also in thread",
        "m.relates_to": {"rel_type": "m.thread", "event_id": root},
    }, "t2")  # fmt: skip
    threaded_filter = '{"room": {"timeline": {"unread_thread_notifications": true}}}'
    sync = await bob.sync(filter=threaded_filter)
    room = sync["rooms"]["join"][room_id]
    assert room["unread_notifications"]["notification_count"] == 1
    assert room["unread_thread_notifications"] == {
        root: {"notification_count": 2, "highlight_count": 0}
    }
    # Without the filter flag everything is one count.
    assert unread(await bob.sync(), room_id)["notification_count"] == 3

    resp = await bob.post(f"/rooms/{room_id}/receipt/m.read/{reply}", json={"thread_id": root})
    assert resp.status_code == 200
    room = (await bob.sync(filter=threaded_filter))["rooms"]["join"][room_id]
    assert room["unread_thread_notifications"] == {
        root: {"notification_count": 1, "highlight_count": 0}
    }
    assert room["unread_notifications"]["notification_count"] == 1  # main timeline untouched
    resp = await bob.post(f"/rooms/{room_id}/receipt/m.read/{root}", json={"thread_id": "main"})
    room = (await bob.sync(filter=threaded_filter))["rooms"]["join"][room_id]
    assert room["unread_notifications"]["notification_count"] == 0
    assert room["unread_thread_notifications"][root]["notification_count"] == 1


async def test_notifications_list_pages_and_filters_highlights(hs: Homeserver) -> None:
    alice, bob, _carol, room_id = await group_room(hs)
    ids = [await alice.send_text(room_id, f"message {i}") for i in range(5)]
    mention = await send(alice, room_id, {
        "msgtype": "m.text", "body": "hey bob", "m.mentions": {"user_ids": [bob.user_id]},
    }, "m")  # fmt: skip
    page = (await bob.get("/notifications", params={"limit": "4"})).json()
    assert [n["event"]["event_id"] for n in page["notifications"]] == [mention, *ids[::-1][:3]]
    first = page["notifications"][0]
    assert first["room_id"] == room_id
    assert first["read"] is False
    assert "room_id" not in first["event"]
    assert first["event"]["content"]["body"] == "hey bob"
    assert isinstance(first["ts"], int)
    rest = (await bob.get("/notifications", params={"from": page["next_token"]})).json()
    assert [n["event"]["event_id"] for n in rest["notifications"]] == ids[::-1][3:]
    assert "next_token" not in rest
    highlights = (await bob.get("/notifications", params={"only": "highlight"})).json()
    assert [n["event"]["event_id"] for n in highlights["notifications"]] == [mention]

    await bob.post(f"/rooms/{room_id}/receipt/m.read/{ids[2]}", json={})
    listed = (await bob.get("/notifications")).json()["notifications"]
    read = {n["event"]["event_id"]: n["read"] for n in listed}
    assert read[ids[0]]
    assert read[ids[2]]
    assert not read[ids[3]]
    assert not read[mention]
    # Alice has none: she sent them all; nobody sees another user's notifications.
    assert (await alice.get("/notifications")).json()["notifications"] == []


async def test_redacted_message_no_longer_counts(hs: Homeserver) -> None:
    alice, bob, _carol, room_id = await group_room(hs)
    keep = await alice.send_text(room_id, "keep")
    oops = await alice.send_text(room_id, "wrong room, sorry")
    assert unread(await bob.sync(), room_id)["notification_count"] == 2
    # carol has read both before the redaction: she must not end up below zero or miss later ones
    await _carol.post(f"/rooms/{room_id}/receipt/m.read/{oops}", json={})
    resp = await alice.put(f"/rooms/{room_id}/redact/{oops}/r1", json={"reason": "mistake"})
    assert resp.status_code == 200
    assert unread(await bob.sync(), room_id)["notification_count"] == 1
    listed = (await bob.get("/notifications")).json()["notifications"]
    assert [n["event"]["event_id"] for n in listed] == [keep]
    later = await alice.send_text(room_id, "later")
    assert unread(await bob.sync(), room_id)["notification_count"] == 2
    assert unread(await _carol.sync(), room_id)["notification_count"] == 1
    listed = (await _carol.get("/notifications")).json()["notifications"]
    assert [(n["event"]["event_id"], n["read"]) for n in listed] == [(later, False), (keep, True)]


async def test_messages_from_ignored_users_do_not_notify(hs: Homeserver) -> None:
    alice, bob, carol, room_id = await group_room(hs)
    resp = await bob.put(
        f"/user/{bob.user_id}/account_data/m.ignored_user_list",
        json={"ignored_users": {carol.user_id: {}}},
    )
    assert resp.status_code == 200
    await carol.send_text(room_id, "you will not hear this")
    await send(carol, room_id, {
        "msgtype": "m.text", "body": "bob!", "m.mentions": {"user_ids": [bob.user_id]},
    }, "c2")  # fmt: skip
    # Alice does not ignore carol: both count for her.
    assert unread(await alice.sync(), room_id)["notification_count"] == 2
    await alice.send_text(room_id, "but this")
    assert unread(await bob.sync(), room_id) == {"notification_count": 1, "highlight_count": 0}


async def test_notifications_list_goes_through_the_visibility_checks(hs: Homeserver) -> None:
    alice, bob, carol, room_id = await group_room(hs)
    from_carol = await carol.send_text(room_id, "from carol")
    from_alice = await alice.send_text(room_id, "from alice")
    listed = (await bob.get("/notifications")).json()["notifications"]
    assert [n["event"]["event_id"] for n in listed] == [from_alice, from_carol]
    # Once bob ignores carol her events are not shown to him anywhere, this list included.
    await bob.put(
        f"/user/{bob.user_id}/account_data/m.ignored_user_list",
        json={"ignored_users": {carol.user_id: {}}},
    )
    listed = (await bob.get("/notifications")).json()["notifications"]
    assert [n["event"]["event_id"] for n in listed] == [from_alice]
