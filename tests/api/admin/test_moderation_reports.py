"""The report queue for admins: Synapse's `event_reports` (list, get, delete) and Bastion's own
`/_bastion/admin/v1/reports` (issue #12, section 1: "the spec's reporting endpoints ... feed one
report queue (the Synapse-compatible `event_reports` reads it)").

Synapse's Event Reports API: "It returns a JSON body like the following: {"event_reports":
[{"event_id", "id", "reason", "score", "received_ts", "canonical_alias", "room_id", "name",
"sender", "user_id"}], "next_token": 2, "total": 4}"; "To paginate, check for next_token and if
present, call the endpoint again with from set to the value of next_token"; the single report
adds "event_json: object - Details of the original event that was reported."
"""

from __future__ import annotations

import pytest

from tests.conftest import Homeserver, UserClient, errcode

SYNAPSE_FIELDS = {
    "id", "received_ts", "room_id", "name", "event_id", "user_id", "reason", "score", "sender",
    "canonical_alias",
}  # fmt: skip

ADMIN_ROUTES = [
    ("GET", "/_synapse/admin/v1/event_reports"),
    ("GET", "/_synapse/admin/v1/event_reports/1"),
    ("DELETE", "/_synapse/admin/v1/event_reports/1"),
    ("GET", "/_bastion/admin/v1/reports"),
    ("GET", "/_bastion/admin/v1/reports/1"),
    ("POST", "/_bastion/admin/v1/reports/1/dismiss"),
    ("POST", "/_bastion/admin/v1/reports/1/resolve"),
    ("POST", "/_bastion/admin/v1/rooms/!r:x/events/$e/redact"),
    ("POST", "/_bastion/admin/v1/users/@u:x/redact"),
    ("GET", "/_bastion/admin/v1/redactions/job"),
]


async def _reported(hs: Homeserver, count: int) -> tuple[UserClient, UserClient, str, list[str]]:
    """alice posts `count` messages in a named room with an alias; bob reports each."""
    alice, bob = await hs.register_user("alice"), await hs.register_user("bob")
    room_id = await alice.create_room(preset="public_chat", name="Matrix HQ", room_alias_name="hq")
    await bob.join(room_id)
    events = []
    for n in range(count):
        event_id = await alice.send_text(room_id, f"message {n}")
        resp = await bob.post(f"/rooms/{room_id}/report/{event_id}", json={"reason": f"r{n}"})
        assert resp.status_code == 200, resp.text
        events.append(event_id)
    return alice, bob, room_id, events


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_every_moderation_route_refuses_a_non_admin(
    hs: Homeserver, method: str, path: str
) -> None:
    """Issue #12: "Only server admins (403 `M_FORBIDDEN` otherwise, tested for every route)"."""
    user = await hs.register_user("someone")
    resp = await user.http.request(method, path, headers={"Authorization": f"Bearer {user.token}"})
    assert errcode(resp) == (403, "M_FORBIDDEN")


async def test_event_reports_list_with_synapse_fields(hs: Homeserver) -> None:
    """The documented body: `event_reports` with Synapse's field names, `total`, `next_token`."""
    root = await hs.register_user("root", admin=True)
    alice, bob, room_id, events = await _reported(hs, 3)

    resp = await root.get("/_synapse/admin/v1/event_reports", params={"limit": "2"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["total"] == 3
    assert body["next_token"] == 2
    first = body["event_reports"][0]
    assert set(first) == SYNAPSE_FIELDS
    # "dir: ... b - Return the newest reports first. Defaults to b."
    assert first["event_id"] == events[2]
    assert first["user_id"] == bob.user_id  # who reported
    assert first["sender"] == alice.user_id  # who sent the event
    assert (first["room_id"], first["name"]) == (room_id, "Matrix HQ")
    assert first["canonical_alias"] == f"#hq:{hs.server_name}"
    assert first["reason"] == "r2"

    rest = (await root.get("/_synapse/admin/v1/event_reports", params={"from": "2"})).json()
    assert [r["event_id"] for r in rest["event_reports"]] == [events[0]]
    assert "next_token" not in rest

    forwards = await root.get("/_synapse/admin/v1/event_reports", params={"dir": "f"})
    assert [r["event_id"] for r in forwards.json()["event_reports"]] == events


async def test_event_reports_filters(hs: Homeserver) -> None:
    """ "user_id: ... filters to only return users with user IDs that contain this value ...
    room_id: ... filters to only return rooms with room IDs that contain this value ...
    event_sender_user_id: ... filter by the sender of the reported event" """
    root = await hs.register_user("root", admin=True)
    _alice, _bob, room_id, _events = await _reported(hs, 2)
    carol = await hs.register_user("carol")
    other_room = await carol.create_room()
    own = await carol.send_text(other_room, "mine")
    assert (await carol.post(f"/rooms/{other_room}/report/{own}", json={})).status_code == 200

    async def ids(**params: str) -> list[str]:
        resp = await root.get("/_synapse/admin/v1/event_reports", params=params)
        assert resp.status_code == 200, resp.text
        return [r["room_id"] for r in resp.json()["event_reports"]]

    assert await ids(user_id="bob") == [room_id, room_id]
    assert await ids(room_id=other_room[1:6]) == [other_room]
    assert await ids(event_sender_user_id=carol.user_id) == [other_room]


async def test_event_reports_reject_bad_parameters(hs: Homeserver) -> None:
    """Synapse: a negative `from` or `limit`, or a `dir` other than f/b, is 400
    M_INVALID_PARAM; a report ID that is not a positive integer too."""
    root = await hs.register_user("root", admin=True)
    for params in ({"from": "-1"}, {"limit": "-5"}, {"dir": "up"}):
        resp = await root.get("/_synapse/admin/v1/event_reports", params=params)
        assert errcode(resp) == (400, "M_INVALID_PARAM"), params
    resp = await root.get("/_synapse/admin/v1/event_reports/abc")
    assert errcode(resp) == (400, "M_INVALID_PARAM")
    assert errcode(await root.get("/_synapse/admin/v1/event_reports/999")) == (404, "M_NOT_FOUND")


async def test_report_ids_and_offsets_past_a_database_integer_are_clear_errors(
    hs: Homeserver,
) -> None:
    """A report ID or a `from` past what a database integer holds names nothing: 404 and 400,
    never the database's overflow as a 500 (found by a sweep of every route with bad input)."""
    root = await hs.register_user("root", admin=True)
    huge = "99999999999999999999"
    for method, path in (
        ("GET", f"/_synapse/admin/v1/event_reports/{huge}"),
        ("DELETE", f"/_synapse/admin/v1/event_reports/{huge}"),
        ("GET", f"/_bastion/admin/v1/reports/{huge}"),
        ("POST", f"/_bastion/admin/v1/reports/{huge}/dismiss"),
        ("POST", f"/_bastion/admin/v1/reports/{huge}/resolve"),
    ):
        resp = await hs.http.request(method, path, headers=root._headers())
        assert errcode(resp) == (404, "M_NOT_FOUND"), path
    for path in ("/_synapse/admin/v1/event_reports", "/_bastion/admin/v1/reports"):
        resp = await root.get(path, params={"from": huge})
        assert errcode(resp) == (400, "M_INVALID_PARAM"), path


async def test_one_event_report_carries_the_event(hs: Homeserver) -> None:
    """ "event_json: object - Details of the original event that was reported." """
    root = await hs.register_user("root", admin=True)
    alice, _bob, room_id, [event_id] = await _reported(hs, 1)
    listed = (await root.get("/_synapse/admin/v1/event_reports")).json()["event_reports"][0]

    resp = await root.get(f"/_synapse/admin/v1/event_reports/{listed['id']}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == SYNAPSE_FIELDS | {"event_json"}
    assert body["event_json"]["room_id"] == room_id
    assert body["event_json"]["sender"] == alice.user_id
    assert body["event_json"]["content"]["body"] == "message 0"
    assert event_id == body["event_id"]


async def test_deleting_an_event_report(hs: Homeserver) -> None:
    """ "This API deletes a specific event report. If the request is successful, the response
    body will be an empty JSON object." Audited `report.delete`."""
    root = await hs.register_user("root", admin=True)
    await _reported(hs, 1)
    report_id = (await root.get("/_synapse/admin/v1/event_reports")).json()["event_reports"][0][
        "id"
    ]

    resp = await root.delete(f"/_synapse/admin/v1/event_reports/{report_id}")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {}
    again = await root.delete(f"/_synapse/admin/v1/event_reports/{report_id}")
    assert errcode(again) == (404, "M_NOT_FOUND")
    assert (await root.get("/_synapse/admin/v1/event_reports")).json()["total"] == 0
    rows = await hs.runtime.db.fetch_all(
        "SELECT outcome, target FROM audit_log WHERE action = 'report.delete' ORDER BY seq"
    )
    assert [(r[0], r[1]) for r in rows] == [
        ("success", str(report_id)),
        ("failure", str(report_id)),
    ]


async def test_room_and_user_reports_are_in_bastions_queue_not_synapses(hs: Homeserver) -> None:
    """Room and user reports appear in Bastion's own queue (`{"entries", "next"}`, filters
    `kind` and `status`); Synapse's `event_reports` lists event reports only."""
    root = await hs.register_user("root", admin=True)
    _alice, bob, room_id, _events = await _reported(hs, 1)
    assert (await bob.post(f"/rooms/{room_id}/report", json={"reason": "room"})).status_code == 200
    mallory = await hs.register_user("mallory")
    resp = await bob.post(f"/users/{mallory.user_id}/report", json={"reason": "user"})
    assert resp.status_code == 200

    queue = (await root.get("/_bastion/admin/v1/reports")).json()
    assert [e["kind"] for e in queue["entries"]] == ["user", "room", "event"]
    assert queue["next"] is None
    users = (await root.get("/_bastion/admin/v1/reports", params={"kind": "user"})).json()
    assert [e["user_id"] for e in users["entries"]] == [mallory.user_id]
    page = (await root.get("/_bastion/admin/v1/reports", params={"limit": "2"})).json()
    assert len(page["entries"]) == 2
    assert page["next"] == "2"
    synapse = (await root.get("/_synapse/admin/v1/event_reports")).json()
    assert synapse["total"] == 1
    bad = await root.get("/_bastion/admin/v1/reports", params={"kind": "nonsense"})
    assert errcode(bad) == (400, "M_INVALID_PARAM")


async def test_dismissing_and_resolving_reports_is_audited(hs: Homeserver) -> None:
    """`POST /_bastion/admin/v1/reports/{id}/dismiss` and `/resolve`; audited (`report.dismiss`,
    `report.resolve`), and the `status` filter sees the change."""
    root = await hs.register_user("root", admin=True)
    await _reported(hs, 2)
    first, second = [
        e["id"] for e in (await root.get("/_bastion/admin/v1/reports")).json()["entries"]
    ]

    dismissed = await root.post(f"/_bastion/admin/v1/reports/{first}/dismiss")
    assert dismissed.status_code == 200, dismissed.text
    assert (dismissed.json()["status"], dismissed.json()["handled_by"]) == (
        "dismissed",
        root.user_id,
    )
    resolved = await root.post(f"/_bastion/admin/v1/reports/{second}/resolve")
    assert resolved.json()["status"] == "resolved"
    missing = await root.post("/_bastion/admin/v1/reports/999/resolve")
    assert errcode(missing) == (404, "M_NOT_FOUND")

    open_ = (await root.get("/_bastion/admin/v1/reports", params={"status": "open"})).json()
    assert open_["entries"] == []
    rows = await hs.runtime.db.fetch_all(
        "SELECT action, outcome, target FROM audit_log WHERE action LIKE 'report.%' ORDER BY seq"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("report.dismiss", "success", str(first)),
        ("report.resolve", "success", str(second)),
        ("report.resolve", "failure", "999"),
    ]


async def test_filing_a_report_is_not_audited(hs: Homeserver) -> None:
    """Issue brief: "`report.create` for a user's report is NOT an admin action"."""
    await _reported(hs, 1)
    rows = await hs.runtime.db.fetch_all(
        "SELECT action FROM audit_log WHERE action LIKE 'report.%'"
    )
    assert rows == []
