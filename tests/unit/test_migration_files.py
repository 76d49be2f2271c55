"""The migration files themselves: numbered, named, and the same versions for each dialect."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from bastion.store.migrations.runner import latest_version, migrations_for

DIALECTS = ["sqlite", "postgres"]
NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")  # verb_noun, lower snake case
FILE_NAME = re.compile(r"\d{4}_[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:\.(?:sqlite|postgres))?\.sql")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_versions_are_consecutive_from_one(dialect: str) -> None:
    versions = [m.version for m in migrations_for(dialect)]
    assert versions, f"no migrations for {dialect}"
    assert versions == list(range(1, len(versions) + 1))
    assert latest_version(dialect) == versions[-1]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_names_are_verb_noun(dialect: str) -> None:
    for migration in migrations_for(dialect):
        assert NAME.fullmatch(migration.name), f"{migration.version:04d}_{migration.name}"
        assert migration.sql.strip(), f"{migration.version:04d}_{migration.name} is empty"


def test_first_migration_creates_the_accounts() -> None:
    first = migrations_for("sqlite")[0]
    assert (first.version, first.name) == (1, "create_accounts")
    assert "CREATE TABLE users" in first.sql


def test_both_dialects_have_the_same_versions_and_names() -> None:
    sqlite = [(m.version, m.name) for m in migrations_for("sqlite")]
    postgres = [(m.version, m.name) for m in migrations_for("postgres")]
    assert sqlite == postgres


def test_every_sql_file_is_named_so_the_runner_sees_it() -> None:
    # A misnamed file would be skipped silently and never applied.
    files = [
        entry.name
        for entry in resources.files("bastion.store.migrations").iterdir()
        if entry.name.endswith(".sql")
    ]
    assert files
    for name in files:
        assert FILE_NAME.fullmatch(name), f"migration file {name!r} does not match NNNN_verb_noun"
