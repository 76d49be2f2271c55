"""The `to_device` extension (MSC3885): the device's to-device messages, with a token of their own.

Request `{enabled, limit?, since?}`, response `{next_batch, events}`. `since` is the client's
to-device token (a previous `next_batch`), not the connection's `pos`: the messages up to it
are acknowledged and deleted when a request carries it, never before, so a response that is
lost costs nothing (the client repeats its old `since` and gets the same messages again, with
any that arrived since). `next_batch` is the stream position reached: `upto`, or the last
message sent when `limit` cut the batch short. Delivery and deletion are the /sync ones
(`ToDeviceService.deliver`). A `since` that is not one of ours is read as absent (from the
start), never refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bastion.services.e2ee.to_device import MAX_DELIVERED_PER_SYNC, ToDeviceService
from bastion.services.sliding_sync.extensions.base import ExtensionContext, ExtensionResult
from bastion.services.sliding_sync.extensions.requests import ToDeviceRequest, parse_request
from bastion.store.database import Database

_log = logging.getLogger(__name__)


class ToDeviceExtension:
    """Delivers and acknowledges to-device messages."""

    name = "to_device"

    def __init__(self, db: Database, to_device: ToDeviceService) -> None:
        self._db = db
        self._to_device = to_device

    async def build(
        self, context: ExtensionContext, request: Mapping[str, Any]
    ) -> ExtensionResult | None:
        """`{next_batch, events}`: always sent (MSC3885 requires `next_batch`), news when
        there are messages."""
        parsed = parse_request(self.name, request, ToDeviceRequest)
        since = _position(parsed.since)
        if since > context.upto:
            # A token from further on than this response reaches (another process ahead of
            # this one): nothing to send yet, and nothing past `upto` may be deleted.
            return ExtensionResult({"next_batch": str(since), "events": []}, news=False)
        limit = MAX_DELIVERED_PER_SYNC if parsed.limit is None else parsed.limit
        if context.news is not None and not context.news.to_device:
            # no message waits for the device at or before `upto` (exact: the probe's EXISTS),
            # so none to send and none acknowledged to delete: what `deliver` would answer
            reached = context.upto if limit > 0 else since
            return ExtensionResult({"next_batch": str(reached), "events": []}, news=False)
        events, reached = await self._to_device.deliver(
            self._db, context.requester, acknowledged=since, upto=context.upto, limit=limit
        )
        return ExtensionResult({"next_batch": str(reached), "events": events}, news=bool(events))


def _position(since: str | None) -> int:
    """The stream position a `since` token names (0 when absent: nothing acknowledged). A token
    that is not ours counts as absent: matrix-rust-sdk restores `since` from its own store and
    resets it only on M_UNKNOWN_POS, so a 400 would stop its encryption sync for good, while
    starting from the start only resends what was never acknowledged."""
    if since is None:
        return 0
    if not since.isascii() or not since.isdigit() or len(since) > 16:
        _log.debug("unparseable to_device.since %r: from the start", since[:40])
        return 0
    return int(since)
