"""Reporting content (spec: client-server-api#reporting-content): events, rooms and users, into
the one report queue admins read (issue #12, section 1, "Moderation")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastion.config import DatabaseConfig, RateLimit, RateLimitsConfig
from bastion.services.principal import Operator
from bastion.store.protocols.moderation import ReportQuery, ReportRecord
from tests.conftest import Homeserver, UserClient, errcode, homeserver_with


async def _queue(hs: Homeserver, **filters: Any) -> list[ReportRecord]:
    page, _total = await hs.runtime.services.reports.list(Operator(), ReportQuery(**filters))
    return page


async def _room_with(hs: Homeserver) -> tuple[UserClient, UserClient, str]:
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    return alice, bob, room_id


async def test_an_event_report_reaches_the_queue(hs: Homeserver) -> None:
    """ "Reports an event as inappropriate to the server, which may then notify the appropriate
    people." (POST /rooms/{roomId}/report/{eventId})"""
    alice, bob, room_id = await _room_with(hs)
    event_id = await alice.send_text(room_id, "offensive")
    resp = await bob.post(
        f"/rooms/{room_id}/report/{event_id}", json={"reason": "this makes me sad", "score": -100}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {}
    [report] = await _queue(hs)
    assert (report.kind, report.reporter, report.room_id, report.event_id) == (
        "event", bob.user_id, room_id, event_id,
    )  # fmt: skip
    assert (report.target_user_id, report.reason, report.score) == (
        alice.user_id, "this makes me sad", -100,
    )  # fmt: skip


async def test_reporting_an_event_needs_a_joined_reporter(hs: Homeserver) -> None:
    """ "404: The event was not found or you are not joined to the room where the event
    resides." """
    alice, _bob, room_id = await _room_with(hs)
    event_id = await alice.send_text(room_id, "hello")
    outsider = await hs.register_user("carol")  # a public room: carol could read, not report
    resp = await outsider.post(f"/rooms/{room_id}/report/{event_id}", json={"reason": "x"})
    assert errcode(resp) == (404, "M_NOT_FOUND")
    assert await _queue(hs) == []


async def test_reporting_an_unknown_or_invisible_event_is_404(hs: Homeserver) -> None:
    """ "The event was not found": an unknown ID, and an event from before the reporter could see
    the room (history visibility `joined`), which the read door hides."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        preset="public_chat",
        initial_state=[
            {"type": "m.room.history_visibility", "state_key": "",
             "content": {"history_visibility": "joined"}},
        ],
    )  # fmt: skip
    before = await alice.send_text(room_id, "before bob joined")
    await bob.join(room_id)
    hidden = await bob.post(f"/rooms/{room_id}/report/{before}", json={"reason": "x"})
    unknown = await bob.post(f"/rooms/{room_id}/report/$nope", json={"reason": "x"})
    assert errcode(hidden) == (404, "M_NOT_FOUND")
    assert errcode(unknown) == (404, "M_NOT_FOUND")


async def test_reporting_a_redacted_event_is_404(hs: Homeserver) -> None:
    """ "Homeserver implementations can additionally return this error if the reported event has
    been redacted." """
    alice, bob, room_id = await _room_with(hs)
    event_id = await alice.send_text(room_id, "oops")
    resp = await alice.put(f"/rooms/{room_id}/redact/{event_id}/t1", json={})
    assert resp.status_code == 200, resp.text
    resp = await bob.post(f"/rooms/{room_id}/report/{event_id}", json={"reason": "x"})
    assert errcode(resp) == (404, "M_NOT_FOUND")


async def test_a_score_out_of_range_is_ignored(hs: Homeserver) -> None:
    """Spec v1.18 changelog: "The `score` request parameter ... was removed" (MSC4277): an old
    client's value outside Synapse's range (-100 to 0), or not a number, is ignored; the report
    is filed."""
    alice, bob, room_id = await _room_with(hs)
    for score in (5, "very bad", 1.5, True):
        event_id = await alice.send_text(room_id, "x")
        resp = await bob.post(f"/rooms/{room_id}/report/{event_id}", json={"score": score})
        assert resp.status_code == 200, resp.text
    assert [r.score for r in await _queue(hs)] == [None] * 4


async def test_a_room_report_needs_no_membership(hs: Homeserver) -> None:
    """ "The caller is not required to be joined to the room to report it." and "404: The room
    was not found on the homeserver." """
    alice = await hs.register_user("alice")
    room_id = await alice.create_room(preset="private_chat")
    carol = await hs.register_user("carol")
    resp = await carol.post(f"/rooms/{room_id}/report", json={"reason": "spam room"})
    assert resp.status_code == 200, resp.text
    missing = await carol.post(f"/rooms/!missing:{hs.server_name}/report", json={"reason": "x"})
    assert errcode(missing) == (404, "M_NOT_FOUND")
    [report] = await _queue(hs, kind="room")
    assert (report.room_id, report.reporter, report.reason) == (room_id, carol.user_id, "spam room")


async def test_a_room_report_requires_a_reason(hs: Homeserver) -> None:
    """The room and user reports' body: `reason` "Required" ("May be blank")."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    assert errcode(await alice.post(f"/rooms/{room_id}/report", json={})) == (400, "M_BAD_JSON")
    blank = await alice.post(f"/rooms/{room_id}/report", json={"reason": ""})
    assert blank.status_code == 200, blank.text


async def test_a_user_report(hs: Homeserver) -> None:
    """ "Reports a user as inappropriate to the server" and "404: The user was not found on the
    homeserver." """
    alice = await hs.register_user("alice")
    mallory = await hs.register_user("mallory")
    resp = await alice.post(f"/users/{mallory.user_id}/report", json={"reason": "harassment"})
    assert resp.status_code == 200, resp.text
    missing = await alice.post(f"/users/@ghost:{hs.server_name}/report", json={"reason": "x"})
    assert errcode(missing) == (404, "M_NOT_FOUND")
    [report] = await _queue(hs, kind="user")
    assert (report.target_user_id, report.reporter) == (mallory.user_id, alice.user_id)


async def test_reports_need_authentication(hs: Homeserver) -> None:
    """`security: accessTokenBearer`."""
    resp = await hs.http.post("/_matrix/client/v3/rooms/!r:x/report", json={"reason": "x"})
    assert errcode(resp) == (401, "M_MISSING_TOKEN")


async def test_reports_are_rate_limited(tmp_path: Path, database_config: DatabaseConfig) -> None:
    """ "429: This request was rate-limited." (the per-account limit of every client write)"""
    limits = RateLimitsConfig(requests_per_user=RateLimit(per_second=0.001, burst=4))
    async with homeserver_with(tmp_path, database_config, rate_limits=limits) as server:
        alice = await server.register_user("alice")
        mallory = await server.register_user("mallory")
        statuses = [
            (await alice.post(f"/users/{mallory.user_id}/report", json={"reason": "x"})).status_code
            for _ in range(6)
        ]
    assert 429 in statuses
