"""RelationChangeCache: says "no children" only when that is certain."""

from __future__ import annotations

from bastion.services.formatting.changes import RelationChangeCache


def test_unknown_before_the_floor_and_known_after_it() -> None:
    cache = RelationChangeCache(floor=100)
    assert cache.may_have_children("!a", 99)  # before the process started: unknown
    assert not cache.may_have_children("!a", 100)
    cache.note("!a", 105)
    assert cache.may_have_children("!a", 104)
    assert not cache.may_have_children("!a", 105)  # a child comes after its parent
    assert not cache.may_have_children("!b", 101)


def test_notes_only_move_forward() -> None:
    cache = RelationChangeCache(floor=0)
    cache.note("!a", 10)
    cache.note("!a", 7)  # a transaction that allocated earlier committing later
    assert cache.may_have_children("!a", 9)


def test_eviction_raises_the_floor() -> None:
    cache = RelationChangeCache(floor=0, max_rooms=2)
    cache.note("!a", 1)
    cache.note("!b", 2)
    cache.note("!c", 3)  # evicts !a, noted least recently
    assert cache.may_have_children("!a", 0)  # below the new floor: unknown again
    assert not cache.may_have_children("!a", 1)
    assert cache.may_have_children("!b", 1)
    assert not cache.may_have_children("!c", 3)
