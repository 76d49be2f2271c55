"""The storage interfaces services depend on. Concrete SQL classes live in `store/sql/`.

Every method takes the `Queryable` to run on: the Database for a single statement, or an open
Transaction when several statements must commit together.
"""

from __future__ import annotations

from bastion.store.protocols.accounts import (
    DeviceStore,
    ProfileStore,
    RegistrationNonceStore,
    RegistrationTokenStore,
    UiaSessionStore,
    UserStore,
)
from bastion.store.protocols.directory import (
    DirectoryUserRow,
    PublishedRoomRow,
    RoomDirectoryStore,
    UserDirectoryStore,
    UserSearch,
)
from bastion.store.protocols.e2ee import KeyBackupStore, KeyStore, ToDeviceStore
from bastion.store.protocols.media import MediaAdminStore, MediaStore
from bastion.store.protocols.presence import ExpiryCutoffs, PresenceRecord, PresenceStore
from bastion.store.protocols.relations import (
    AggregationRow,
    ChildrenQuery,
    RelationRecord,
    RelationStore,
)
from bastion.store.protocols.rooms import (
    AccountDataStore,
    EventStore,
    MembershipStore,
    ReceiptStore,
    RoomStore,
    StateKey,
    StateStore,
)
from bastion.store.protocols.search import (
    SearchEntry,
    SearchHit,
    SearchPhrase,
    SearchQuery,
    SearchScope,
    SearchStore,
)

__all__ = [
    "AccountDataStore",
    "AggregationRow",
    "ChildrenQuery",
    "DeviceStore",
    "DirectoryUserRow",
    "EventStore",
    "ExpiryCutoffs",
    "KeyBackupStore",
    "KeyStore",
    "MediaAdminStore",
    "MediaStore",
    "MembershipStore",
    "PresenceRecord",
    "PresenceStore",
    "ProfileStore",
    "PublishedRoomRow",
    "ReceiptStore",
    "RegistrationNonceStore",
    "RegistrationTokenStore",
    "RelationRecord",
    "RelationStore",
    "RoomDirectoryStore",
    "RoomStore",
    "SearchEntry",
    "SearchHit",
    "SearchPhrase",
    "SearchQuery",
    "SearchScope",
    "SearchStore",
    "StateKey",
    "StateStore",
    "ToDeviceStore",
    "UiaSessionStore",
    "UserDirectoryStore",
    "UserSearch",
    "UserStore",
]
