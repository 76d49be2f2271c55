"""The `PositionAllocator` contract, run against every implementation (the in-process one for
now; the scale-out work adds a shared one to `ALLOCATORS`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bastion.store.stream import AdvanceListener, PositionAllocator, StreamPositions

ALLOCATORS: dict[str, Callable[[int, AdvanceListener], PositionAllocator]] = {
    "in-process": StreamPositions,
}


@pytest.fixture
def advanced() -> list[int]:
    """The `persisted_upto` values the allocator announced, in order."""
    return []


@pytest.fixture(params=sorted(ALLOCATORS))
def allocator(request: pytest.FixtureRequest, advanced: list[int]) -> PositionAllocator:
    """An allocator whose stored positions end at 100."""
    return ALLOCATORS[request.param](100, advanced.append)


def test_positions_are_unique_and_increase(allocator: PositionAllocator) -> None:
    with allocator.allocate() as [first], allocator.allocate(3) as batch:
        assert first == 101
        assert batch == [102, 103, 104]
        assert allocator.current() == 104
    with allocator.allocate() as [after]:
        assert after == 105


def test_persisted_upto_never_passes_a_position_in_flight(allocator: PositionAllocator) -> None:
    assert allocator.persisted_upto() == 100
    early = allocator.allocate()
    late = allocator.allocate()
    early.__enter__()
    late.__enter__()
    assert allocator.persisted_upto() == 100
    late.__exit__(None, None, None)  # the later write commits first (PostgreSQL may do this)
    assert allocator.persisted_upto() == 100
    early.__exit__(None, None, None)
    assert allocator.persisted_upto() == 102 == allocator.current()


def test_a_rolled_back_write_frees_its_position(allocator: PositionAllocator) -> None:
    with pytest.raises(RuntimeError), allocator.allocate():
        raise RuntimeError("rollback")
    assert allocator.persisted_upto() == 101
    with allocator.allocate() as [position]:
        assert position == 102  # never reused


def test_advances_are_announced_once_nothing_below_is_in_flight(
    allocator: PositionAllocator, advanced: list[int]
) -> None:
    early = allocator.allocate()
    early.__enter__()
    with allocator.allocate():
        pass
    assert advanced == []  # 102 committed, but 101 is still being written
    early.__exit__(None, None, None)
    assert advanced == [102]
    with allocator.allocate(2):
        pass
    assert advanced == [102, 104]
