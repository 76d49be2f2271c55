"""`?` placeholders as written in the stores become PostgreSQL's `$n`."""

from __future__ import annotations

import pytest

from bastion.store.postgres import to_postgres_placeholders


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", "SELECT 1"),
        ("SELECT * FROM users WHERE user_id = ?", "SELECT * FROM users WHERE user_id = $1"),
        (
            "INSERT INTO t (a, b, c) VALUES (?, ?, ?)",
            "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)",
        ),
        ("UPDATE t SET a = ? WHERE b = ? AND c > ?", "UPDATE t SET a = $1 WHERE b = $2 AND c > $3"),
        ("VALUES (?,?)", "VALUES ($1,$2)"),
    ],
)
def test_rewrites_in_order(sql: str, expected: str) -> None:
    assert to_postgres_placeholders(sql) == expected


def test_numbers_past_nine() -> None:
    sql = "VALUES (" + ", ".join("?" * 12) + ")"
    expected = "VALUES (" + ", ".join(f"${i}" for i in range(1, 13)) + ")"
    assert to_postgres_placeholders(sql) == expected


def test_each_statement_numbers_from_one() -> None:
    assert to_postgres_placeholders("SELECT ?, ? -- a") == "SELECT $1, $2 -- a"
    assert to_postgres_placeholders("SELECT ? -- b") == "SELECT $1 -- b"
    # A cached result is not affected by the counter of a later call.
    assert to_postgres_placeholders("SELECT ?, ? -- a") == "SELECT $1, $2 -- a"


def test_results_are_cached() -> None:
    sql = "SELECT ? FROM cache_probe WHERE x = ?"
    first = to_postgres_placeholders(sql)
    hits = to_postgres_placeholders.cache_info().hits
    assert to_postgres_placeholders(sql) is first
    assert to_postgres_placeholders.cache_info().hits == hits + 1
