"""Calling one sliding-sync extension the way the connection code does, without the endpoint.

Each `build` is one response of one connection: its window starts where the previous response
ended (`since`, the ephemeral serial, the previous scope) and ends at the positions persisted
now. `retry` builds again from the window of the previous call, as when a response was lost and
the client repeats its old `pos`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bastion.services.principal import Requester
from bastion.services.sliding_sync.extensions.base import (
    Extension,
    ExtensionContext,
    ExtensionResult,
    ExtensionScope,
)
from bastion.services.sliding_sync.extensions.registry import ExtensionParts, build_extensions
from bastion.store.sql.account_data import SqlAccountDataStore
from bastion.store.sql.memberships import SqlMembershipStore
from tests.conftest import Homeserver, UserClient

# Where a response starts: the previous `pos`, ephemeral serial and scope (None: first request).
Window = tuple[int | None, int | None, ExtensionScope | None]


def extensions_of(hs: Homeserver) -> dict[str, Extension]:
    """The server's extensions by name, built from the services its /sync uses."""
    runtime = hs.runtime
    sync = runtime.services.sync
    parts = ExtensionParts(
        runtime.db,
        sync.encryption,
        sync.ephemeral,
        sync.push,
        SqlAccountDataStore(),
        SqlMembershipStore(),
    )
    return {extension.name: extension for extension in build_extensions(parts)}


def scope(*rooms: str, subscriptions: Sequence[str] = ()) -> ExtensionScope:
    """A response whose one list `all` holds `rooms` in range."""
    return ExtensionScope({"all": list(rooms)}, list(subscriptions))


class ExtensionSession:
    """One user's connection, as far as one extension sees it."""

    def __init__(self, hs: Homeserver, user: UserClient, name: str) -> None:
        self._hs = hs
        self._extension = extensions_of(hs)[name]
        self._requester = Requester(user.user_id, user.device_id, False)
        self._window: Window = (None, None, None)
        self._previous_window: Window = self._window

    async def build(
        self, request: Mapping[str, Any], in_scope: ExtensionScope | None = None
    ) -> ExtensionResult | None:
        """The next response's part; the next call continues from where this one ends."""
        result, upto, ephemeral = await self._build(self._window, request, in_scope)
        self._previous_window = self._window
        self._window = (upto, ephemeral, in_scope or scope())
        return result

    async def retry(
        self, request: Mapping[str, Any], in_scope: ExtensionScope | None = None
    ) -> ExtensionResult | None:
        """The previous response again (it was lost): the same `since`, positions now."""
        result, upto, ephemeral = await self._build(self._previous_window, request, in_scope)
        self._window = (upto, ephemeral, in_scope or scope())
        return result

    async def _build(
        self,
        window: Window,
        request: Mapping[str, Any],
        in_scope: ExtensionScope | None,
    ) -> tuple[ExtensionResult | None, int, int]:
        since, since_ephemeral, previous_scope = window
        upto = self._hs.runtime.positions.persisted_upto()
        ephemeral = self._hs.runtime.services.typing.serial
        context = ExtensionContext(
            self._requester,
            since,
            upto,
            since_ephemeral,
            ephemeral,
            in_scope or scope(),
            previous_scope=previous_scope,
        )
        result = await self._extension.build(context, {"enabled": True, **request})
        return result, upto, ephemeral
