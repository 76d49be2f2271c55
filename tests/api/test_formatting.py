"""The event formatter (services/formatting/) on a real database.

An event whose room has no `rooms` row is an error: it is never formatted under a guessed room
version (the redaction algorithm depends on the version).
"""

from __future__ import annotations

import pytest

from bastion.errors import Errcode, MatrixError
from bastion.events.model import StoredEvent
from bastion.services.formatting.bundles import BundledAggregations
from bastion.services.formatting.changes import RelationChangeCache
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.ignored_users import IgnoredUsers
from bastion.services.visibility import ReadStores, VisibilityService
from bastion.store.sql.account_data import SqlAccountDataStore
from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.memberships import SqlMembershipStore
from bastion.store.sql.relations import SqlRelationStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.search import search_store_for
from bastion.store.sql.state import SqlStateStore
from tests.conftest import Homeserver


def _formatter(hs: Homeserver) -> EventFormatter:
    db, events, memberships = hs.runtime.db, SqlEventStore(), SqlMembershipStore()
    relations = SqlRelationStore()
    stores = ReadStores(
        events, SqlStateStore(), memberships, search_store_for(db.dialect), relations
    )
    visibility = VisibilityService(db, stores, IgnoredUsers(db, SqlAccountDataStore()))
    bundles = BundledAggregations(db, visibility, RelationChangeCache(floor=0))
    return EventFormatter(db, events, SqlRoomStore(), hs.clock, bundles=bundles)


async def test_formats_a_stored_event_and_refuses_an_unknown_room(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    event_id = await alice.send_text(room_id, "hello")
    formatter = _formatter(hs)
    stored = await SqlEventStore().get_event(hs.runtime.db, event_id)
    assert stored is not None

    [formatted] = await formatter.format([stored], None)
    assert formatted["event_id"] == event_id
    assert formatted["content"]["body"] == "hello"

    orphan = StoredEvent(
        stream_ordering=stored.stream_ordering,
        event_id="$orphan",
        room_id=f"!nowhere:{hs.server_name}",
        type="m.room.message",
        sender=alice.user_id,
        content={"body": "lost"},
        origin_server_ts=0,
        depth=1,
    )
    with pytest.raises(MatrixError) as raised:
        await formatter.format([orphan], None)
    assert raised.value.errcode == Errcode.NOT_FOUND
