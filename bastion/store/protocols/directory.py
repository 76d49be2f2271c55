"""Published room directory and user directory stores.

See `bastion.store.protocols` for how stores are used."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

import msgspec

from bastion.events.model import StoredEvent
from bastion.store.database import Queryable


class PublishedRoomRow(msgspec.Struct, frozen=True):
    """A room in the published directory, with its joined member count."""

    room_id: str
    num_joined_members: int


class RoomDirectoryStore(Protocol):
    """Which rooms are published, and the state the directory shows of them."""

    async def publish(self, q: Queryable, room_id: str, published_by: str, now_ms: int) -> None: ...
    async def unpublish(self, q: Queryable, room_id: str) -> None: ...
    async def is_published(self, q: Queryable, room_id: str) -> bool: ...
    async def published_rooms(
        self, q: Queryable, *, network: tuple[str, str] | None = None, all_networks: bool = False
    ) -> list[PublishedRoomRow]:
        """The server's directory; or an application service's `(appservice_id, network_id)`
        directory; or, `all_networks`, every room in either (largest first, then room ID)."""
        ...

    async def publish_for_network(
        self, q: Queryable, network: tuple[str, str], room_id: str, now_ms: int
    ) -> None: ...
    async def unpublish_for_network(
        self, q: Queryable, network: tuple[str, str], room_id: str
    ) -> None: ...
    async def current_state_of_rooms(
        self, q: Queryable, room_ids: Sequence[str], types: Sequence[str]
    ) -> list[StoredEvent]: ...
    async def space_children(self, q: Queryable, room_ids: Sequence[str]) -> list[StoredEvent]: ...


class DirectoryUserRow(msgspec.Struct, frozen=True):
    """A user found in the directory, with their global profile."""

    user_id: str
    displayname: str | None
    avatar_url: str | None


class UserSearch(msgspec.Struct, frozen=True):
    """A user directory query: every `(low, high)` range must hold one of a user's terms.

    `shared_with` set: only that user and people sharing a joined room with them.
    """

    term_ranges: list[tuple[str, str]]
    limit: int
    shared_with: str | None = None


class UserDirectoryStore(Protocol):
    """The search terms of each active user."""

    async def set_terms(self, q: Queryable, user_id: str, terms: Collection[str]) -> None: ...
    async def delete_terms(self, q: Queryable, user_id: str) -> None: ...
    async def unindexed_users(self, q: Queryable, limit: int) -> list[tuple[str, str | None]]: ...
    async def search(self, q: Queryable, query: UserSearch) -> list[DirectoryUserRow]: ...
