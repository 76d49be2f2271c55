"""The `e2ee` extension (MSC3884): device-list changes, one-time key counts, fallback keys.

The fields mean what they mean in /sync and come from the same services: `device_lists`
(`changed`, `left`) between the previous `pos` and `upto` (not on a connection's first
request, where the client fetches the keys it needs itself), and the requester's device's
`device_one_time_keys_count` and `device_unused_fallback_key_types`, always sent as Synapse
does (clients cannot tell "unchanged" from "none left" otherwise). Only a device-list change
is news: key counts alone never end a long-poll. The extension ignores `lists` and `rooms`
(none of this is about a room).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion.json_types import JsonObject
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.e2ee.keys import KeysService
from bastion.services.sliding_sync.extensions.base import (
    ExtensionContext,
    ExtensionResult,
)

# Counted as 0 when the device has none left, as Synapse does, so a client that reads only
# this field knows to upload more (its absence would read as "unchanged").
SIGNED_CURVE25519 = "signed_curve25519"


class E2eeExtension:
    """The requester's device's key counts and whose device lists changed."""

    name = "e2ee"

    def __init__(self, keys: KeysService, device_lists: DeviceListService) -> None:
        self._keys = keys
        self._device_lists = device_lists

    async def build(
        self, context: ExtensionContext, request: Mapping[str, Any]
    ) -> ExtensionResult | None:
        """Always a payload; news only when a device list changed. The key counts come from
        the probe when it read them; the device lists are not read when it says no device
        list or membership moved in the window."""
        if context.keys is not None:
            counts, fallback = context.keys
        else:
            counts, fallback = await self._keys.counts(context.requester)
        payload: JsonObject = {
            "device_one_time_keys_count": {SIGNED_CURVE25519: 0, **counts},
            "device_unused_fallback_key_types": fallback,
        }
        if context.since is None:
            return ExtensionResult(payload, news=False)
        if context.news is not None and not context.news.device_lists:
            payload["device_lists"] = {"changed": [], "left": []}
            return ExtensionResult(payload, news=False)
        changed, left = await self._device_lists.changes(
            context.requester.user_id, after=context.since, upto=context.upto
        )
        payload["device_lists"] = {"changed": changed, "left": left}
        return ExtensionResult(payload, news=bool(changed or left))
