"""SQL for the full-text index of room events (`event_search`, `event_search_backfill`).

Two dialects, one behaviour: `event_search` has a row per searchable event in both; SQLite
indexes its tokens in the FTS5 table `event_search_fts` and ranks with bm25, PostgreSQL keeps a
GIN-indexed tsvector column and ranks with ts_rank. Neither tokenises text: the tokens arrive
already normalised (services/search/normalize.py) and queries arrive as phrases of such tokens,
compiled here into an FTS5 MATCH expression or a tsquery literal. A window of matches is chosen
first, then joined back to `events`, so one query returns it as events; redacted events never
match.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bastion.events.model import StoredEvent
from bastion.store.database import Dialect, Queryable
from bastion.store.protocols import SearchEntry, SearchHit, SearchPhrase, SearchQuery, SearchStore
from bastion.store.sql.events import EVENT_COLUMNS, event_from_row, placeholders

_MAX_POSITION = 16383  # PostgreSQL clamps larger tsvector positions to this


def _quoted(token: str, quote: str) -> str:
    return quote + token.replace(quote, quote * 2) + quote


def fts5_match(phrases: Sequence[SearchPhrase]) -> str:
    """`"a b" "c"*`: every phrase, each of adjacent tokens; `*` makes the last one a prefix."""
    return " ".join(_quoted(" ".join(p.tokens), '"') + ("*" if p.prefix else "") for p in phrases)


def _lexeme(token: str) -> str:
    return _quoted(token.replace("\\", "\\\\"), "'")


def tsquery_literal(phrases: Sequence[SearchPhrase]) -> str:
    """`('a' <-> 'b') & ('c':*)`: the same query as `fts5_match`, for PostgreSQL."""
    parts = []
    for phrase in phrases:
        lexemes = [_lexeme(t) for t in phrase.tokens]
        if phrase.prefix:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts)


def tsvector_literal(tokens: Sequence[str]) -> str:
    """`'a':1,3 'b':2`: the tokens with their positions, for PostgreSQL."""
    positions: dict[str, list[int]] = {}
    for index, token in enumerate(tokens, start=1):
        positions.setdefault(token, []).append(min(index, _MAX_POSITION))
    return " ".join(
        f"{_lexeme(token)}:{','.join(map(str, dict.fromkeys(found)))}"
        for token, found in positions.items()
    )


def _in(column: str, values: Sequence[str], *, negate: bool = False) -> str:
    if not values:
        return "1 = 1" if negate else "1 = 0"
    return f"{column} {'NOT IN' if negate else 'IN'} ({placeholders(len(values))})"


def _scope_filter(query: SearchQuery, table: str, position: str) -> tuple[str, list[Any]]:
    """SQL and arguments keeping only the query's rooms (each up to its bound), search keys
    and senders, and positions below `before`."""
    unbounded = [s.room_id for s in query.rooms if s.upto is None]
    clauses, args = [_in(f"{table}.room_id", unbounded)], list[Any](unbounded)
    for scope in query.rooms:
        if scope.upto is not None:
            clauses.append(f"({table}.room_id = ? AND {position} <= ?)")
            args += [scope.room_id, scope.upto]
    sql = f"({' OR '.join(clauses)}) AND {_in(f'{table}.key', query.keys)}"
    args += query.keys
    if query.senders is not None:
        sql += f" AND {_in(f'{table}.sender', query.senders)}"
        args += query.senders
    sql += f" AND {_in(f'{table}.sender', query.not_senders, negate=True)}"
    args += query.not_senders
    if query.before is not None:
        sql += f" AND {position} < ?"
        args.append(query.before)
    return sql, args


class _SqlSearchStore:
    """What both dialects share: `event_search` rows, deletion, backfill bookkeeping."""

    async def delete_event(self, q: Queryable, event_id: str) -> None:
        await q.execute(
            "DELETE FROM event_search WHERE stream_ordering IN"
            " (SELECT stream_ordering FROM events WHERE event_id = ?)",
            event_id,
        )

    async def get_backfill_position(self, q: Queryable) -> int:
        return int(await q.fetch_val("SELECT MAX(upto) FROM event_search_backfill") or 0)

    async def set_backfill_position(self, q: Queryable, position: int) -> None:
        await q.execute("UPDATE event_search_backfill SET upto = ?", position)

    async def events_to_backfill(
        self, q: Queryable, *, upto: int, types: Sequence[str], limit: int
    ) -> list[StoredEvent]:
        """Unredacted events of `types` at or below `upto`, newest first."""
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.stream_ordering <= ?"
            f" AND e.type IN ({placeholders(len(types))}) AND e.redacted_by IS NULL"
            " ORDER BY e.stream_ordering DESC LIMIT ?",
            upto,
            *types,
            limit,
        )
        return [event_from_row(row) for row in rows]

    async def _hits(
        self, q: Queryable, ranked: str, args: Sequence[Any], query: SearchQuery, *, sign: float
    ) -> list[SearchHit]:
        """Join a window of (position, score) rows chosen by `ranked` back to their events.

        The window is chosen before the join, so only its events are read and sorted."""
        order = "hits.score DESC" if sign > 0 else "hits.score"
        order = f"{order}, hits.position DESC" if query.by_rank else "hits.position DESC"
        rows = await q.fetch_all(
            f"SELECT {EVENT_COLUMNS}, hits.score FROM ({ranked}) AS hits"
            " JOIN events e ON e.stream_ordering = hits.position"
            f" WHERE e.redacted_by IS NULL ORDER BY {order}",
            *args,
        )
        return [SearchHit(sign * float(row["score"]), event_from_row(row)) for row in rows]


class SqliteSearchStore(_SqlSearchStore):
    """`event_search` rows indexed by the FTS5 table `event_search_fts` (kept by triggers)."""

    async def insert_entries(self, q: Queryable, entries: Sequence[SearchEntry]) -> None:
        await q.execute_many(
            "INSERT INTO event_search (stream_ordering, room_id, sender, key, tokens)"
            " VALUES (?, ?, ?, ?, ?)",
            [(e.stream_ordering, e.room_id, e.sender, e.key, " ".join(e.tokens)) for e in entries],
        )

    async def find_hits(self, q: Queryable, query: SearchQuery) -> list[SearchHit]:
        if not query.phrases or not query.rooms:
            return []
        scope, args = _scope_filter(query, "s", "s.stream_ordering")
        # bm25 is lower for better matches. CROSS JOIN keeps the FTS5 match as the outer loop.
        order = "score, position DESC" if query.by_rank else "fts.rowid DESC"
        ranked = (
            "SELECT s.stream_ordering AS position, bm25(event_search_fts) AS score"
            " FROM event_search_fts AS fts CROSS JOIN event_search s"
            " ON s.stream_ordering = fts.rowid"
            f" WHERE event_search_fts MATCH ? AND {scope} ORDER BY {order} LIMIT ? OFFSET ?"
        )
        arguments = [fts5_match(query.phrases), *args, query.limit, query.offset]
        return await self._hits(q, ranked, arguments, query, sign=-1.0)


class PostgresSearchStore(_SqlSearchStore):
    """`event_search` rows with a GIN-indexed tsvector column."""

    async def insert_entries(self, q: Queryable, entries: Sequence[SearchEntry]) -> None:
        await q.execute_many(
            "INSERT INTO event_search (stream_ordering, room_id, sender, key, vector)"
            " VALUES (?, ?, ?, ?, CAST(? AS tsvector))",
            [
                (e.stream_ordering, e.room_id, e.sender, e.key, tsvector_literal(e.tokens))
                for e in entries
            ],
        )

    async def find_hits(self, q: Queryable, query: SearchQuery) -> list[SearchHit]:
        if not query.phrases or not query.rooms:
            return []
        scope, args = _scope_filter(query, "s", "s.stream_ordering")
        order = "score DESC, position DESC" if query.by_rank else "position DESC"
        ranked = (
            "SELECT s.stream_ordering AS position,"
            " ts_rank(s.vector, CAST(? AS tsquery)) AS score FROM event_search s"
            f" WHERE s.vector @@ CAST(? AS tsquery) AND {scope} ORDER BY {order} LIMIT ? OFFSET ?"
        )
        tsquery = tsquery_literal(query.phrases)
        arguments = [tsquery, tsquery, *args, query.limit, query.offset]
        return await self._hits(q, ranked, arguments, query, sign=1.0)


def search_store_for(dialect: Dialect) -> SearchStore:
    """The search store for the database's dialect."""
    return SqliteSearchStore() if dialect == "sqlite" else PostgresSearchStore()
