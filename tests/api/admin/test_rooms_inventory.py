"""Bastion's room inventory and its export (issue #12, section 1).

Issue #12: "the room inventory with governance columns (name, topic, creator, member count,
admins, encryption, join rule, created, last activity) and filters (`inactive_days`, `no_admin`,
`encrypted`) at `GET /_bastion/admin/v1/rooms`, **exported as CSV and XLSX** at
`GET /_bastion/admin/v1/rooms/export?format=csv|xlsx` (organisations keep this list in Excel:
real `.xlsx` via a maintained library, Arabic names intact, RTL-safe); lists answer
`{"entries": [...], "next": token-or-null}`"; "Room version 12 ... count creators as admins
everywhere (inventory, ...)"; "Test every governance rule in v10/v11 rooms and in v12 rooms."
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.conftest import Homeserver, UserClient, errcode

ARABIC = "غرفة الطوارئ"
INVENTORY = "/_bastion/admin/v1/rooms"
EXPORT = "/_bastion/admin/v1/rooms/export"
DAY_MS = 86_400_000


async def _entries(root: UserClient, **params: str) -> list[dict[str, Any]]:
    resp = await root.get(INVENTORY, params=params)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"entries", "next"}
    entries: list[dict[str, Any]] = body["entries"]
    return entries


async def _by_id(root: UserClient, **params: str) -> dict[str, dict[str, Any]]:
    return {e["room_id"]: e for e in await _entries(root, **params)}


@pytest.mark.parametrize("version", ["9", "10", "11", "12"])
async def test_governance_columns_count_the_creator_as_admin(hs: Homeserver, version: str) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room_id = await alice.create_room(
        name=ARABIC, topic="Emergency", preset="public_chat", room_version=version
    )
    await bob.join(room_id)

    entry = (await _by_id(root))[room_id]

    assert entry["name"] == ARABIC
    assert entry["topic"] == "Emergency"
    assert entry["creator"] == alice.user_id
    assert entry["room_version"] == version
    assert entry["joined_members"] == 2
    assert entry["admins"] == [alice.user_id]  # v12: the creator, listed in no power level
    assert entry["encryption"] is None
    assert entry["join_rule"] == "public"
    assert entry["created_ts"] == hs.clock.now_ms()
    assert entry["last_activity_ts"] == hs.clock.now_ms()


@pytest.mark.parametrize("version", ["9", "10", "11", "12"])
async def test_no_admin_finds_rooms_whose_admins_all_left(hs: Homeserver, version: str) -> None:
    """An admin who left governs nothing: the room shows no admin (v12: not even its creator)."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    orphan = await alice.create_room(preset="public_chat", room_version=version)
    kept = await alice.create_room(preset="public_chat", room_version=version)
    await bob.join(orphan)
    assert (await alice.post(f"/rooms/{orphan}/leave", json={})).status_code == 200

    without = await _by_id(root, no_admin="true")
    with_admin = await _by_id(root, no_admin="false")

    assert set(without) == {orphan}
    assert without[orphan]["admins"] == []
    assert set(with_admin) == {kept}


async def test_inactive_days_encrypted_and_search_filters(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    old = await alice.create_room(name="Archive")
    hs.clock.advance(40 * DAY_MS)
    secret = await alice.create_room(
        name=ARABIC,
        initial_state=[
            {"type": "m.room.encryption", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
        ],
    )

    assert set(await _by_id(root, inactive_days="30")) == {old}
    assert set(await _by_id(root, encrypted="true")) == {secret}
    assert set(await _by_id(root, encrypted="false")) == {old}
    assert (await _by_id(root, encrypted="true"))[secret]["encryption"] == "m.megolm.v1.aes-sha2"
    assert set(await _by_id(root, search="الطوارئ")) == {secret}
    await alice.send_text(old, "still here")  # activity moves `last_activity_ts`
    assert set(await _by_id(root, inactive_days="30")) == set()


async def test_pages_are_newest_first_and_end_with_null(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    first = await alice.create_room()
    hs.clock.advance(1000)
    second = await alice.create_room()

    page = (await root.get(INVENTORY, params={"limit": "1"})).json()
    assert [e["room_id"] for e in page["entries"]] == [second]
    assert page["next"] is not None
    rest = (await root.get(INVENTORY, params={"limit": "1", "from": page["next"]})).json()
    assert [e["room_id"] for e in rest["entries"]] == [first]
    assert rest["next"] is None


async def _export_rooms(hs: Homeserver) -> tuple[UserClient, str, str]:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    arabic = await alice.create_room(name=ARABIC)
    hostile = await alice.create_room(name='=HYPERLINK("http://evil.example","x")')
    return root, arabic, hostile


async def test_csv_is_utf8_with_bom_arabic_intact_and_formulas_neutralised(
    hs: Homeserver,
) -> None:
    """OWASP CSV injection: cells starting with `=`, `+`, `-`, `@` are made inert."""
    root, arabic, hostile = await _export_rooms(hs)

    resp = await root.get(EXPORT, params={"format": "csv"})

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    names = {row[0]: row[1] for row in rows[1:]}
    assert rows[0][:3] == ["room_id", "name", "topic"]
    assert names[arabic] == ARABIC
    assert names[hostile] == "'" + '=HYPERLINK("http://evil.example","x")'
    rows_audited = await hs.runtime.db.fetch_all(
        "SELECT outcome FROM audit_log WHERE action = 'room.export'"
    )
    assert [r[0] for r in rows_audited] == ["success"]


async def test_xlsx_is_a_real_workbook_with_arabic_intact(hs: Homeserver) -> None:
    root, arabic, hostile = await _export_rooms(hs)

    resp = await root.get(EXPORT, params={"format": "xlsx", "rtl": "true"})

    assert resp.status_code == 200, resp.text
    book = load_workbook(io.BytesIO(resp.content))
    sheet = book["Rooms"]
    assert sheet.sheet_view.rightToLeft is True
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("room_id", "name")
    names = {row[0]: row[1] for row in rows[1:]}
    assert names[arabic] == ARABIC
    assert names[hostile] == "'" + '=HYPERLINK("http://evil.example","x")'
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert cells[hostile].data_type == "s"  # a string, never a formula
    assert cells[arabic].alignment.readingOrder == 0  # the cell's own direction


async def test_an_unknown_format_is_400(hs: Homeserver) -> None:
    root = await hs.register_user("root", admin=True)
    resp = await root.get(EXPORT, params={"format": "pdf"})
    assert errcode(resp) == (400, "M_INVALID_PARAM")


async def test_both_routes_refuse_a_non_admin(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    for path in (INVENTORY, EXPORT):
        assert errcode(await alice.get(path)) == (403, "M_FORBIDDEN"), path
