"""Room previews judged by matrix-js-sdk (`peekInRoom`: `GET /rooms/{id}/initialSync`, then
`GET /events?room_id=`, what Element Web does to show a world-readable room before joining).
tests/clients/js/peek_session.mjs drives it; on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.clients.server import BastionServer
from tests.clients.test_sliding_sync_js_sdk import run_session


def test_js_sdk_previews_a_world_readable_room(ss_home: BastionServer) -> None:
    ss_home.create_user("alice")
    ss_home.create_user("bob")
    ss_home.start()

    seen = run_session(ss_home, "peek_session.mjs")

    assert seen["errors"] == []
    assert seen["name"] == "Lobby"
    assert seen["creator_membership"] == "join"
    assert seen["first"] == ["two", "three"]  # the snapshot's limit, oldest first
    assert seen["after_scrollback"] == ["one", "two", "three"]  # messages.start pages back
    assert seen["live"].startswith("live ")
    assert seen["private"] == "403 M_FORBIDDEN"
