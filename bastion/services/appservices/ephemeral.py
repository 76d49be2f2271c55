"""Receipts, typing and presence for the services that asked for them (`receive_ephemeral`, spec
application-service-api#pushing-ephemeral-data, v1.13). Receipts and typing under the rules of
events: in rooms the service is interested in (interest.py); private read receipts only of its
own users. Presence of the users the service is interested in: those in its user namespaces,
and those joined to a room it is interested in (a room of its room or alias namespaces, or
where one of its users is joined: the spec's "a user an application service shares a room
with, or matching one of the application service's namespaces", judged as Synapse does).

Receipts and presence are on the stream: a transaction carries those written in the window its
events cover (a presence row keeps only a user's latest visible change, at its position, so a
window carries each user's state as it is now, once; a later change moves the row to a later
window, never to an earlier one, so none is lost). Their progress is the row's `done_upto`,
stored with the events' (delivery.py). Typing is not stored: a transaction carries the current
typers of each room of interest whose typers changed since the typing serial this process last
put in a transaction (all rooms with typers after a start). What a transaction carries is
stored with it (delivery.py), so a retry sends the same. With presence disabled
(`[presence] enabled = false`) nothing of it is read or sent.
"""

from __future__ import annotations

from typing import Any, Protocol

from bastion.json_types import JsonObject
from bastion.services.appservices.interest import Interest
from bastion.services.appservices.registration import AppServiceRegistration
from bastion.services.ephemeral.receipts import receipt_events
from bastion.store.database import Database
from bastion.store.protocols.appservices import AppServiceStore

RECEIPTS_AT_MOST = 1_000
PRESENCE_AT_MOST = 500  # users' changes per transaction (each costs a read of their rooms)


class Typers(Protocol):
    """Who types where, in memory (services/ephemeral/typing.py)."""

    serial: int

    def typers(self, room_id: str) -> list[str]: ...
    def rooms_changed_since(self, serial: int | None) -> set[str]: ...


class PresenceChanges(Protocol):
    """The m.presence events of a stream window (services/presence/service.py)."""

    async def changes_between(
        self, *, after: int, upto: int, limit: int
    ) -> list[tuple[int, JsonObject]]: ...


class EphemeralCollector:
    """What a service's next transaction carries besides events."""

    def __init__(
        self,
        db: Database,
        store: AppServiceStore,
        interest: Interest,
        typing: Typers | None,
        *,
        presence: PresenceChanges | None = None,
    ) -> None:
        """`presence` None: presence is disabled, none is sent."""
        self._db, self._store, self._interest, self._typing = db, store, interest, typing
        self._presence = presence
        self._typing_seen: dict[str, int] = {}  # registration -> serial already carried

    async def collect(
        self, registration: AppServiceRegistration, after: int, upto: int
    ) -> tuple[list[dict[str, Any]], int, int | None]:
        """(ephemeral events, the window's end, the typing serial reached): receipts and
        presence in (after, upto] (the end moves back when there were too many for one
        transaction) and typing changed since last carried."""
        receipts = []
        if upto > after:
            receipts = await self._store.stream_receipts(self._db, after, upto, RECEIPTS_AT_MOST)
            last = receipts[-1].stream_id if len(receipts) == RECEIPTS_AT_MOST else None
            earlier = [r for r in receipts if last is not None and r.stream_id < last]
            if earlier:  # too many for one transaction: the rest in the next one
                receipts, upto = earlier, last - 1 if last is not None else upto
        presence, upto = await self._presence_changes(after, upto)
        wanted = await self._interest.rooms(
            registration, {r.room_id for r in receipts if r.stream_id <= upto}
        )
        kept = [r for r in receipts if r.room_id in wanted and r.stream_id <= upto]
        found: list[dict[str, Any]] = []
        for room_id, event in receipt_events(kept, registration.owns_user).items():
            found.append({**event, "room_id": room_id})
        if presence:
            users = await self._interest.users(registration, {str(e["sender"]) for e in presence})
            found.extend(e for e in presence if e["sender"] in users)
        serial = None
        if self._typing is not None:
            serial = self._typing.serial
            changed = self._typing.rooms_changed_since(self._typing_seen.get(registration.id))
            for room_id in sorted(await self._interest.rooms(registration, changed)):
                typers = self._typing.typers(room_id)
                found.append(
                    {"type": "m.typing", "room_id": room_id, "content": {"user_ids": typers}}
                )
        return found, upto, serial

    async def _presence_changes(self, after: int, upto: int) -> tuple[list[JsonObject], int]:
        """Everyone's presence changed in (after, upto], and the window's end (moved back to
        the last one read when there were too many: each change has its own position)."""
        if self._presence is None or upto <= after:
            return [], upto
        changes = await self._presence.changes_between(
            after=after, upto=upto, limit=PRESENCE_AT_MOST
        )
        if len(changes) == PRESENCE_AT_MOST:
            upto = changes[-1][0]
        return [event for _, event in changes], upto

    def carried(self, registration: AppServiceRegistration, serial: int | None) -> None:
        """The typing up to `serial` is in a stored transaction: not to be carried again."""
        if serial is not None:
            self._typing_seen[registration.id] = serial
