"""A sliding-sync client for the connection, list and endpoint tests: it sends each request in
the dialect asked for (pre-merge like Element X: `pos`/`timeout` as query parameters; merged:
in the body) and remembers the last `pos` like a client's sync loop."""

from __future__ import annotations

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
        self.held: dict[str, list[str]] = {}  # each list's rooms as the last `ops` gave them

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
                self.held[name] = room_ids(result, name)
        return result


def room_ids(response: dict[str, Any], name: str = "all") -> list[str]:
    """The room IDs of a pre-merge list's SYNC ops, in order."""
    ops = response["lists"][name].get("ops", [])
    return [room_id for op in ops for room_id in op["room_ids"]]
