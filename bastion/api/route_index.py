"""Route matching through an index of literal path prefixes, instead of trying every route.

Starlette's router tries its routes in order, one regular expression each, until one matches:
with some 350 routes, finding a route late in the list cost a quarter of a cheap request's CPU.
`IndexedRouter` keeps Starlette's behaviour exactly but tries only the routes that can match.

The index is a tree of literal path segments. A route is filed under the segments its template
starts with before its first parameter (`/_matrix/client/v3/rooms/{roomId}/send/...` under
`_matrix`/`client`/`v3`/`rooms`; a route or mount with no literal segment at the root). A
request path walks the tree segment by segment as far as it goes; the candidates are the routes
filed on that walk, in their original order.

Invariant: a route not on the walk cannot match. Its regular expression starts with its literal
segments, each one whole (followed by `/` or the end), so a path it matches has those segments
first, and the walk passes the node they lead to. Hence trying the candidates in order finds the
same FULL match, or the same first PARTIAL one (405), as trying every route. A path with no
match at all, or with a newline (`$` also matches before a final newline), goes to Starlette's
own full scan, which keeps the slash redirect and the 404.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send
from typing_extensions import override


class _Node:
    __slots__ = ("candidates", "children", "filed")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.filed: list[int] = []  # indices of the routes filed here
        self.candidates: tuple[BaseRoute, ...] = ()


def literal_segments(route: BaseRoute) -> list[str]:
    """The whole path segments a route's template starts with, before any parameter."""
    path = route.path if isinstance(route, Route | Mount) else ""
    segments: list[str] = []
    for segment in path.split("/")[1:]:
        if "{" in segment:
            break
        segments.append(segment)
    return segments


class IndexedRouter(Router):
    """A Starlette `Router` that tries only the routes a path's literal prefix allows."""

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: object) -> None:
        super().__init__(list(routes), **kwargs)  # type: ignore[arg-type]  # Router's own keywords
        self._root = _Node()
        for index, route in enumerate(self.routes):
            node = self._root
            for segment in literal_segments(route):
                node = node.children.setdefault(segment, _Node())
            node.filed.append(index)
        self._finish(self._root, [])

    def _finish(self, node: _Node, inherited: list[int]) -> None:
        indices = sorted([*inherited, *node.filed])
        node.candidates = tuple(self.routes[i] for i in indices)
        for child in node.children.values():
            self._finish(child, indices)

    def candidates(self, path: str) -> tuple[BaseRoute, ...]:
        """The routes that may match `path`, in their original order."""
        node = self._root
        for segment in path.split("/")[1:]:
            child = node.children.get(segment)
            if child is None:
                break
            node = child
        return node.candidates

    @override
    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        path = get_route_path(scope)
        if "\n" in path:
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        partial: BaseRoute | None = None
        partial_scope: Scope = {}
        for route in self.candidates(path):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        await super().app(scope, receive, send)  # nothing matches: redirect or 404, as before
