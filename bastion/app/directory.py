"""Wiring of the user directory, the room directory, room summaries and space hierarchies
(services/directory/), called by wiring.py."""

from __future__ import annotations

from typing import Any

from bastion.clock import Clock
from bastion.config import Config
from bastion.services.directory.hierarchy import SpaceHierarchyService
from bastion.services.directory.mutual_rooms import MutualRoomsService
from bastion.services.directory.rooms import DirectoryAccess, RoomDirectoryService
from bastion.services.directory.summary import RoomSummaryService
from bastion.services.directory.users import UserDirectoryService
from bastion.store.database import Database
from bastion.store.sql.memberships import SqlMembershipStore
from bastion.store.sql.room_directory import SqlRoomDirectoryStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.state import SqlStateStore
from bastion.store.sql.user_directory import SqlUserDirectoryStore


def directory_services(
    config: Config,
    db: Database,
    clock: Clock,
    *,
    room_directory: SqlRoomDirectoryStore,
    rooms: SqlRoomStore,
    state: SqlStateStore,
    memberships: SqlMembershipStore,
) -> dict[str, Any]:
    """The directories and summaries, over the room stores the rest of the wiring built."""
    access = DirectoryAccess(
        server_name=config.server_name,
        require_auth=config.directory.public_rooms_require_auth,
    )
    return {
        "user_directory": UserDirectoryService(
            db,
            SqlUserDirectoryStore(),
            search_all_users=config.user_directory.search_all_users,
        ),
        "room_directory": RoomDirectoryService(
            db, room_directory, clock, access,
            rooms=rooms, state=state, memberships=memberships,
        ),
        "room_summary": RoomSummaryService(
            db, access, rooms=rooms, directory=room_directory, memberships=memberships
        ),
        "space_hierarchy": SpaceHierarchyService(
            db, directory=room_directory, memberships=memberships
        ),
        "mutual_rooms": MutualRoomsService(db, memberships),
    }  # fmt: skip
