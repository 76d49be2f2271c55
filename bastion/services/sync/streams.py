"""What /sync reports besides rooms: the push, encryption and account data parts (sliding
sync's extensions use `PushStreams` and `EncryptionStreams` too).

Invariant: an initial sync always carries `m.push_rules` as the rules are now (clients read their
rules from it), never the stored copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bastion.events.filters import FilterDefinition, room_allowed, type_and_sender_match
from bastion.json_types import JsonObject
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.e2ee.keys import KeysService
from bastion.services.e2ee.to_device import ToDeviceService
from bastion.services.push.notifications import NotificationService
from bastion.services.push.rules import PUSH_RULES, PushRuleService
from bastion.store.records import AccountDataRecord


@dataclass(frozen=True, slots=True)
class PushStreams:
    """Unread counts for joined rooms, and the push rules an initial sync carries."""

    notifications: NotificationService
    rules: PushRuleService

    async def push_rules_event(self, user_id: str) -> JsonObject:
        """The `m.push_rules` account data event, always in an initial sync (clients read
        their rules from it; the stored copy exists only once the user changed a rule)."""
        return {"type": PUSH_RULES, "content": await self.rules.push_rules_content(user_id)}

    async def global_account_data(
        self,
        user_id: str,
        records: list[AccountDataRecord],
        *,
        initial: bool,
        wanted: Callable[[str], bool],
    ) -> list[JsonObject]:
        """The global account data events of `records` whose type is `wanted`; an initial
        sync carries the push rules as they are now in place of the stored copy."""
        events = [
            {"type": r.type, "content": r.content}
            for r in records
            if r.room_id == "" and wanted(r.type) and not (initial and r.type == PUSH_RULES)
        ]
        if initial and wanted(PUSH_RULES):
            events.append(await self.push_rules_event(user_id))
        return events


@dataclass(frozen=True, slots=True)
class EncryptionStreams:
    """The end-to-end-encryption parts of /sync."""

    keys: KeysService
    to_device: ToDeviceService
    device_lists: DeviceListService


def wanted_account_data(f: FilterDefinition, data_type: str) -> bool:
    """Whether the filter's `account_data` part keeps events of `data_type`."""
    return type_and_sender_match(f.account_data, data_type, None)


def room_account_data(
    records: list[AccountDataRecord], f: FilterDefinition
) -> dict[str, list[JsonObject]]:
    """The room account data events of `records` by room, for the rooms the filter keeps."""
    grouped: dict[str, list[JsonObject]] = {}
    for record in records:
        if record.room_id and room_allowed(f.room.rooms, f.room.not_rooms, record.room_id):
            grouped.setdefault(record.room_id, []).append(
                {"type": record.type, "content": record.content}
            )
    return grouped
