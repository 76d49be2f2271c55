"""A sliding-sync client for the connection, list and endpoint tests: it sends each request in
the dialect asked for (pre-merge like Element X: `pos`/`timeout` as query parameters; merged:
in the body) and remembers the last `pos` like a client's sync loop."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from tests.conftest import UserClient

UNSTABLE = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
V4 = "/_matrix/client/v4/sync"


def all_rooms(start: int = 0, end: int = 19, limit: int = 1, **extra: Any) -> dict[str, Any]:
    """A pre-merge list as Element X sends it (`ranges`, `required_state` pairs)."""
    return {
        "ranges": [[start, end]],
        "timeline_limit": limit,
        "required_state": [["m.room.name", ""], ["m.room.member", "$ME"]],
        **extra,
    }


class SlidingClient:
    """One connection (`conn_id`) of one user's device."""

    def __init__(self, user: UserClient, *, conn_id: str = "room-list", merged: bool = False):
        self.user = user
        self.conn_id = conn_id
        self.merged = merged
        self.pos: str | None = None
        self.held: dict[str, list[str]] = {}  # each list's rooms as the `ops` so far give them
        self._slots: dict[str, dict[int, str]] = {}  # each list's rooms by index

    async def request(
        self,
        body: dict[str, Any],
        *,
        pos: str | None = None,
        timeout_ms: int = 0,
    ) -> httpx.Response:
        """One request at `pos` (no pos: a new connection); the response as it came."""
        body = {"conn_id": self.conn_id, **body}
        params: dict[str, str] = {}
        if self.merged:
            body |= {"timeout": timeout_ms} | ({"pos": pos} if pos is not None else {})
            return await self.user.post(V4, json=body)
        params["timeout"] = str(timeout_ms)
        if pos is not None:
            params["pos"] = pos
        return await self.user.post(UNSTABLE, json=body, params=params)

    async def sync(
        self,
        body: dict[str, Any],
        *,
        timeout_ms: int = 0,
    ) -> dict[str, Any]:
        """The next request of the loop (from the last pos); fails the test unless 200."""
        resp = await self.request(body, pos=self.pos, timeout_ms=timeout_ms)
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()
        self.pos = result["pos"]
        for name, found in result.get("lists", {}).items():
            if "ops" in found:  # no ops: the rooms in range did not change
                slots = self._slots.setdefault(name, {})
                if any(op["op"] == "SYNC" for op in found["ops"]):
                    slots.clear()  # the server sends a SYNC for each of its ranges, or none
                apply_ops(slots, found["ops"])
                self.held[name] = [slots[i] for i in sorted(slots)]
        return result


def room_ids(response: dict[str, Any], name: str = "all") -> list[str]:
    """The room IDs of a pre-merge list's SYNC ops, in order (a response moving rooms with
    DELETE/INSERT has none: read `SlidingClient.held` then)."""
    ops = response["lists"][name].get("ops", [])
    return [room_id for op in ops if op["op"] == "SYNC" for room_id in op["room_ids"]]


def apply_ops(slots: dict[int, str], ops: Iterable[Mapping[str, Any]]) -> None:
    """MSC3575's "Sliding Window API" as a client applies it to a list (index -> room ID):
    "`SYNC`: Sets a *range* of entries"; "`DELETE`: Remove a *single* entry"; "`INSERT`: Sets a
    *single* entry. If the position is not empty then clients MUST move entries to the left or
    the right depending on where the closest empty space is." A DELETE of an empty slot, an
    INSERT whose nearest empty slots on both sides are as near, or another op fails the test."""
    for op in ops:
        if op["op"] == "SYNC":
            start, end = op["range"]
            for index in range(start, end + 1):
                slots.pop(index, None)
            slots.update((start + i, room_id) for i, room_id in enumerate(op["room_ids"]))
        elif op["op"] == "DELETE":
            del slots[op["index"]]
        elif op["op"] == "INSERT":
            _insert(slots, op["index"], op["room_id"])
        else:
            raise AssertionError(f"unexpected op {op}")


def _insert(slots: dict[int, str], index: int, room_id: str) -> None:
    if index in slots:
        left = next((i for i in range(index - 1, -1, -1) if i not in slots), None)
        right = next(i for i in itertools.count(index + 1) if i not in slots)
        assert left is None or index - left != right - index, f"ambiguous INSERT at {index}"
        if left is not None and index - left < right - index:
            for i in range(left, index):  # shift left, toward the empty slot
                slots[i] = slots[i + 1]
        else:
            for i in range(right, index, -1):  # shift right, toward the empty slot
                slots[i] = slots[i - 1]
    slots[index] = room_id
