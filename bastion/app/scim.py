"""Wiring of SCIM provisioning (services/scim/) and of the room entry it shares with the admin
API's joins (services/rooms/room_entry.py), beside the composition root so the shared wiring
file grows by a line each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bastion.clock import Clock
from bastion.services.accounts import AccountService
from bastion.services.audit.trail import AuditTrail
from bastion.services.rooms.room_entry import EntryStores, RoomEntry
from bastion.services.scim.group_rooms import GroupRooms
from bastion.services.scim.groups import ScimGroups
from bastion.services.scim.service import ScimService
from bastion.services.scim.tokens import ScimTokens
from bastion.services.scim.users import ScimUsers, UserCollaborators
from bastion.store.database import Database
from bastion.store.sql.memberships import SqlMembershipStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.scim import SqlScimStore
from bastion.store.sql.state import SqlStateStore
from bastion.store.sql.users import SqlUserStore


@dataclass(frozen=True, slots=True)
class ScimParts:
    """What SCIM is built from; `room_services` is wiring's dict of room services (it reads
    `membership`, `profile`, `offboarding` and `room_entry` from it)."""

    db: Database
    clock: Clock
    audit: AuditTrail
    accounts: AccountService
    hash_token: Callable[[str], str]
    room_services: dict[str, Any]
    server_name: str
    public_baseurl: str


def room_entry(
    db: Database, audit: AuditTrail, room_services: dict[str, Any], server_name: str
) -> RoomEntry:
    """`room_entry` of `Services`: an admin's joins (and a SCIM group's, through `scim`)."""
    stores = EntryStores(SqlRoomStore(), SqlStateStore(), SqlMembershipStore(), SqlUserStore())
    membership = room_services["membership"]
    return RoomEntry(db, membership, stores, audit, server_name=server_name)


def scim_service(parts: ScimParts) -> ScimService:
    """The `scim` service of `Services`."""
    db, clock, audit, name = parts.db, parts.clock, parts.audit, parts.server_name
    base_url = parts.public_baseurl.rstrip("/") + "/scim/v2"
    store, users = SqlScimStore(), SqlUserStore()
    room_stores = EntryStores(SqlRoomStore(), SqlStateStore(), SqlMembershipStore(), users)
    group_rooms = GroupRooms(
        db, store, audit, parts.room_services["membership"], room_stores,
        parts.room_services["room_entry"],
    )  # fmt: skip
    collaborators = UserCollaborators(
        accounts=parts.accounts,
        users=users,
        profile=parts.room_services["profile"],
        offboarding=parts.room_services["offboarding"],
        group_rooms=group_rooms,
    )
    return ScimService(
        tokens=ScimTokens(db, store, audit, clock, parts.hash_token),
        users=ScimUsers(
            db, store, audit, clock, collaborators, server_name=name, base_url=base_url
        ),
        groups=ScimGroups(
            db, store, audit, clock, users, group_rooms, server_name=name, base_url=base_url
        ),
        group_rooms=group_rooms,
    )
