"""What every sliding-sync extension sees and answers, so the connection code and the
extensions stay independent of each other.

The connection code (services/sliding_sync/) computes the response's rooms, then asks each
extension the client enabled for its part. An extension never reads the lists' requests: it gets
the rooms they selected in `ExtensionScope`, and narrows them with its own `lists`/`rooms`
request fields (MSC3959/MSC3960/MSC3961: absent means "*", every list or subscription).

Invariant: `build` reads only what is at or below `upto` (and ephemeral changes up to
`ephemeral_upto`), the positions the connection stores with the next `pos`, so what the
extension reports in one response is never reported again nor skipped by the next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bastion.json_types import JsonObject
from bastion.services.principal import Requester
from bastion.store.protocols.sync_probe import SyncNews


@dataclass(frozen=True, slots=True)
class ExtensionScope:
    """The rooms this response covers: each list's rooms (in its ranges), and the rooms
    subscribed to explicitly."""

    lists: Mapping[str, Sequence[str]]
    subscriptions: Sequence[str]
    # What `selected` answered, per (lists, rooms): the extensions of one response mostly ask
    # the same ("*"), and the scope never changes once built.
    _selected: dict[tuple[tuple[str, ...] | None, tuple[str, ...] | None], frozenset[str]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def selected(self, lists: Sequence[str] | None, rooms: Sequence[str] | None) -> frozenset[str]:
        """`rooms_for`, computed once per distinct request of this scope."""
        key = (None if lists is None else tuple(lists), None if rooms is None else tuple(rooms))
        found = self._selected.get(key)
        if found is None:
            found = self._selected[key] = frozenset(self.rooms_for(lists, rooms))
        return found

    def same_rooms_as(self, previous: ExtensionScope) -> ExtensionScope:
        """This scope, sharing `previous`'s selections: the caller knows each list holds the
        rooms it held in `previous` (re-placed only) and the subscriptions are the same, so
        every selection is the same set (and `selected` answers the same object)."""
        return ExtensionScope(self.lists, self.subscriptions, previous._selected)

    def rooms_for(self, lists: Sequence[str] | None, rooms: Sequence[str] | None) -> set[str]:
        """The rooms an extension request's `lists` and `rooms` fields select: absent or
        containing "*" means all of them; a name or room not in this response selects nothing."""
        selected: set[str] = set()
        if lists is None or "*" in lists:
            for room_ids in self.lists.values():
                selected.update(room_ids)
        else:
            for name in lists:
                selected.update(self.lists.get(name, ()))
        if rooms is None or "*" in rooms:
            selected.update(self.subscriptions)
        else:
            selected.update(r for r in rooms if r in self.subscriptions)
        return selected


@dataclass(frozen=True, slots=True)
class ExtensionContext:
    """One response's window: from the previous `pos` (`since`, None on a connection's first
    request) up to `upto` on the stream, and likewise for ephemeral serials (typing)."""

    requester: Requester
    since: int | None
    upto: int
    since_ephemeral: int | None
    ephemeral_upto: int
    scope: ExtensionScope
    # Added by the extensions (C): the scope of the response that `since` came from (None on
    # a first request, or when unknown). A room in `scope` but not in `previous_scope` entered
    # the response now (a list's range moved or grew onto it, a new subscription): MSC3961
    # sends its current typing, and account data and receipts are sent in full for it, since
    # what changed while it was out of the response was never sent (MSC3959, MSC3960). When
    # None on an incremental request, every room counts as having been in the response.
    previous_scope: ExtensionScope | None = None
    # Which streams may hold something in (since, upto] (/sync's probe, when the response was
    # planned from it): an extension may skip reading a stream marked False. None: unknown.
    news: SyncNews | None = None
    # The device's one-time key counts and unused fallback key types, when the probe read
    # them in the same statement (e2ee sends them on every response). None: not read yet.
    keys: tuple[dict[str, int], list[str]] | None = None


@dataclass(frozen=True, slots=True)
class ExtensionResult:
    """An extension's part of the response, and whether it is news: a long-poll returns early
    only for news (e2ee's key counts are always sent but are not news by themselves)."""

    payload: JsonObject
    news: bool


class Extension(Protocol):
    """One extension (its `name` is the key under `extensions` in requests and responses)."""

    name: str

    async def build(
        self, context: ExtensionContext, request: Mapping[str, Any]
    ) -> ExtensionResult | None:
        """This response's part, or None when the extension has nothing to send. `request`
        is the client's object for this extension (already known to have `enabled: true`)."""
        ...
