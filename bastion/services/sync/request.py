"""A /sync request, validated: the token, the filter (inline or stored) and the options.

An inline filter is decoded once per process for each distinct text (`_INLINE`, bounded): every
long poll of a client repeats it. A `FilterDefinition` is frozen and never modified after
decoding, so one object serves them all.
"""

from __future__ import annotations

import msgspec

from bastion.errors import Errcode, MatrixError
from bastion.events.filters import FilterDefinition
from bastion.events.query_params import query_int
from bastion.events.typed_json import decode_as
from bastion.services.account_data import AccountDataService
from bastion.services.principal import Requester
from bastion.services.stream_token import parse_sync_token

MAX_TIMEOUT_MS = 120_000
PRESENCE_VALUES = ("online", "offline", "unavailable")
_INLINE: dict[str, FilterDefinition] = {}
_INLINE_MAX = 256


MSC4222 = "org.matrix.msc4222"  # the unstable prefix of `use_state_after` and `state_after`


class SyncRequest(msgspec.Struct, frozen=True):
    """Query parameters of `GET /sync`, parsed."""

    since: int | None
    since_to_device: int | None
    since_typing: int | None
    timeout_ms: int
    filter: FilterDefinition
    full_state: bool
    set_presence: str
    # spec v1.16 (MSC4222): send `state_after` (state at the timeline's end) instead of
    # `state`, under this key: `state_after`, or MSC4222's unstable name for a client that asked
    # with it (matrix-js-sdk, so Element Web, always does); None: `state` as before
    state_after: str | None = None


async def parse_sync_request(
    requester: Requester, params: dict[str, str], account_data: AccountDataService
) -> SyncRequest:
    """Validate the query string of `GET /sync`."""
    since, since_to_device, since_typing = (
        parse_sync_token(params["since"]) if params.get("since") else (None, None, None)
    )
    timeout_ms = query_int(params, "timeout", 0)
    presence = params.get("set_presence", "online")
    if presence not in PRESENCE_VALUES:
        raise MatrixError(
            400, Errcode.INVALID_PARAM, f"set_presence must be one of {PRESENCE_VALUES}"
        )
    full_state = _boolean(params, "full_state")
    state_after = None
    if _boolean(params, "use_state_after"):
        state_after = "state_after"
    elif _boolean(params, f"{MSC4222}.use_state_after"):
        state_after = f"{MSC4222}.state_after"
    return SyncRequest(
        since=since,
        since_to_device=since_to_device,
        since_typing=since_typing,
        timeout_ms=min(timeout_ms, MAX_TIMEOUT_MS),
        filter=await _resolve_filter(requester, params.get("filter"), account_data),
        full_state=full_state,
        set_presence=presence,
        state_after=state_after,
    )


def _boolean(params: dict[str, str], name: str) -> bool:
    """A boolean query parameter: `true` or `false` (the default), as the spec's JSON spells
    them; anything else is refused rather than guessed at."""
    raw = params.get(name, "false")
    if raw not in ("true", "false"):
        raise MatrixError(400, Errcode.INVALID_PARAM, f"{name} must be true or false")
    return raw == "true"


async def _resolve_filter(
    requester: Requester, raw: str | None, account_data: AccountDataService
) -> FilterDefinition:
    if raw is None or raw == "":
        return FilterDefinition()
    if raw.lstrip().startswith("{"):
        decoded = _INLINE.get(raw)
        if decoded is None:
            decoded = decode_as(raw, FilterDefinition, what="filter")  # raises when invalid
            if len(_INLINE) >= _INLINE_MAX:
                _INLINE.clear()
            _INLINE[raw] = decoded
        return decoded
    try:
        return await account_data.filter_definition(requester, requester.user_id, raw)
    except MatrixError as exc:
        raise MatrixError(400, Errcode.INVALID_PARAM, f"unknown filter {raw!r}") from exc
