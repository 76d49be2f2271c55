"""What a bridge needs to run Olm and Megolm for its users without logging them in (end-to-bridge
encryption, as Synapse provides it; the bridge makes its users' devices with `PUT /devices` and
uploads their keys by masquerading as them).

- To-device messages (MSC2409, now MSC4203), for a service that receives ephemeral data: the
  messages waiting in the inboxes of its users' devices (its user namespaces and its sender),
  each with `to_user_id` and `to_device_id`, under `de.sorunome.msc2409.to_device` (Synapse's
  name; sent, even empty, to every such service, as Synapse does). They are on the stream: a
  transaction carries those written in the window its events cover, at most `TO_DEVICE_AT_MOST`
  (the window's end moves back when there are more, as it does for receipts). They are stored
  with the pending transaction, so a retry or a restart sends the same ones.
- For a service with `org.matrix.msc3202: true` (MSC3202):
  `org.matrix.msc3202.device_lists`: `changed`, the users whose devices changed in the window
  and whom the service is interested in (its users, and anyone joined to a room it is
  interested in: Synapse's rule, the one its presence follows, interest.py), with those who
  joined such a room in the window; `left`, those who left a room of interest (or whose room a
  user of the service left) in the window and share no room of interest any more (Synapse
  sends no `left`; this is /sync's rule for the service's users taken together). Stored with
  the transaction like the to-device messages.
  `org.matrix.msc3202.device_one_time_keys_count` (also under Synapse's older misspelling
  `device_one_time_key_counts`) and `org.matrix.msc3202.device_unused_fallback_key_types`: for
  every device of the users Synapse reports them for (the service's sender, the service's users
  joined to the rooms the transaction's events and ephemeral events are in, and the recipients
  of its to-device messages), read when the transaction is sent, so a retry carries the counts
  as they are then (they describe the present, not the window).

Once the service acknowledged a transaction, the to-device messages it carried are deleted from
their devices' inboxes, in the database transaction that records the acknowledgement (what a
device's next /sync does once it has them). So a device of the service's that also syncs gets a
message through one of the two only: the service's transaction, or its /sync when the sync
acknowledged the message first (a sync deletes what it delivered, so the service never sees
those); either way each message reaches the device's owner at least once.
"""

from __future__ import annotations

from typing import Any

from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.services.appservices.interest import Interest, RoomFacts
from bastion.services.appservices.registration import AppServiceRegistration
from bastion.store.database import Database, Queryable
from bastion.store.protocols import KeyStore, ToDeviceStore

TO_DEVICE_AT_MOST = 100  # Synapse's MAX_TO_DEVICE_MESSAGES_PER_TRANSACTION
TO_DEVICE_SCAN_AT_MOST = 500  # every inbox's messages read per look (others' are skipped)

TO_DEVICE = "de.sorunome.msc2409.to_device"
DEVICE_LISTS = "org.matrix.msc3202.device_lists"
OTK_COUNTS = ("org.matrix.msc3202.device_one_time_keys_count",
              "org.matrix.msc3202.device_one_time_key_counts")  # fmt: skip
FALLBACK_TYPES = "org.matrix.msc3202.device_unused_fallback_key_types"

ToDevice = list[tuple[int, dict[str, Any]]]  # (position, message as the service receives it)


def wants_encryption(registration: AppServiceRegistration) -> bool:
    """Does the service receive anything of this module?"""
    return registration.receive_ephemeral or registration.msc3202


class EncryptionCollector:
    """The to-device messages and device-list changes of a window, and the key counts of a
    transaction (module docstring)."""

    def __init__(
        self,
        db: Database,
        stores: tuple[ToDeviceStore, KeyStore],
        interest: Interest,
        rooms: RoomFacts,
    ) -> None:
        self._db = db
        self._inboxes, self._keys = stores
        self._interest, self._rooms = interest, rooms

    async def to_device(
        self, registration: AppServiceRegistration, after: int, upto: int
    ) -> tuple[ToDevice, int]:
        """The messages for the service's users' devices in (after, upto], and the window's end
        (moved back when there were more than one transaction takes, or more to read)."""
        if not registration.receive_ephemeral or upto <= after:
            return [], upto
        rows = await self._inboxes.stream_messages(self._db, after, upto, TO_DEVICE_SCAN_AT_MOST)
        if len(rows) == TO_DEVICE_SCAN_AT_MOST:
            upto = rows[-1][0]
        found: ToDevice = []
        for position, user_id, device_id, message in rows:
            if not registration.owns_user(user_id):
                continue
            if len(found) == TO_DEVICE_AT_MOST:
                upto = found[-1][0]
                break
            found.append((position, {**message, "to_user_id": user_id, "to_device_id": device_id}))
        return found, upto

    async def collect(
        self,
        registration: AppServiceRegistration,
        window: tuple[int, int],
        to_device: ToDevice,
        events: list[StoredEvent],
    ) -> dict[str, Any] | None:
        """What the pending transaction of (after, upto] stores (None: nothing): the to-device
        messages up to its end, and the device-list changes. `events`: every room event of the
        window, of interest or not (the membership changes are read from them)."""
        after, upto = window
        kept = [(p, m) for p, m in to_device if p <= upto]
        changed: set[str] = set()
        left: set[str] = set()
        if registration.msc3202 and upto > after:
            changed, left = await self._device_lists(registration, after, upto, events)
        if not kept and not changed and not left:
            return None
        inboxes: dict[tuple[str, str], int] = {}
        for position, message in kept:
            inboxes[(message["to_user_id"], message["to_device_id"])] = position
        return {
            "to_device": [m for _, m in kept],
            "inboxes": [[u, d, p] for (u, d), p in inboxes.items()],
            "changed": sorted(changed),
            "left": sorted(left),
        }

    async def fields(
        self,
        registration: AppServiceRegistration,
        held: dict[str, Any] | None,
        events: list[dict[str, Any]],
        ephemeral: list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        """The transaction body's fields of this module, under Synapse's names."""
        held = held or {}
        to_device: list[dict[str, Any]] = held.get("to_device", [])
        out: dict[str, Any] = {}
        if registration.receive_ephemeral:
            out[TO_DEVICE] = to_device
        if not registration.msc3202:
            return out
        if held.get("changed") or held.get("left"):
            out[DEVICE_LISTS] = {"changed": held.get("changed", []), "left": held.get("left", [])}
        users = {registration.sender, *(m["to_user_id"] for m in to_device)}
        room_ids = {str(e["room_id"]) for e in [*events, *(ephemeral or [])] if "room_id" in e}
        for room_id in sorted(room_ids):
            users |= {u for u in await self._rooms.joined(room_id) if registration.owns_user(u)}
        counts, fallback = await self._keys.key_counts_of_users(self._db, sorted(users))
        if counts:
            out.update(dict.fromkeys(OTK_COUNTS, counts))
        if fallback:
            out[FALLBACK_TYPES] = fallback
        return out

    async def acknowledged(self, q: Queryable, held: dict[str, Any] | None) -> None:
        """The service took the transaction: its to-device messages leave their inboxes."""
        for user_id, device_id, position in (held or {}).get("inboxes", []):
            await self._inboxes.delete_delivered(q, user_id, device_id, position)

    async def _device_lists(
        self, registration: AppServiceRegistration, after: int, upto: int, events: list[StoredEvent]
    ) -> tuple[set[str], set[str]]:
        changed = set(
            await self._keys.users_with_device_list_changes(self._db, after=after, upto=upto)
        )
        joined: set[str] = set()
        departed: set[str] = set()
        for event in events:
            if event.type != EventType.MEMBER or event.state_key is None:
                continue
            if not after < event.stream_ordering <= upto:
                continue
            user_id, membership = event.state_key, event.membership
            was_joined = (event.prev_content or {}).get("membership") == "join"
            if membership == "join" and not was_joined:
                if await self._interest.rooms(registration, {event.room_id}):
                    joined.add(user_id)
            elif membership in ("leave", "ban") and was_joined:
                if registration.owns_user(user_id):  # its user's room-mates may be gone too
                    departed |= await self._rooms.joined(event.room_id)
                elif await self._interest.rooms(registration, {event.room_id}):
                    departed.add(user_id)  # left a room the service shared with them
        interested = await self._interest.users(registration, changed | joined | departed)
        left = {u for u in departed - interested if not registration.owns_user(u)}
        return ((changed | joined) & interested) - left, left
