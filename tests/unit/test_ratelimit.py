"""Token-bucket rate limits, driven by a FakeClock (no sleeps)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bastion.clock import FakeClock
from bastion.config import RateLimit
from bastion.errors import Errcode, MatrixError
from bastion.services.ratelimit import RateLimiter, rate_limited


def limiter(
    clock: FakeClock, *, per_second: float = 1.0, burst: int = 3, max_keys: int = 100_000
) -> RateLimiter:
    return RateLimiter(clock, RateLimit(per_second=per_second, burst=burst), max_keys=max_keys)


def retry_after_ms(exc: pytest.ExceptionInfo[MatrixError]) -> int:
    value = exc.value.extra["retry_after_ms"]
    assert isinstance(value, int)
    return value


def test_burst_is_allowed_then_429_with_retry_after() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_second=1.0, burst=3)
    for _ in range(3):
        rl.hit("alice")

    with pytest.raises(MatrixError) as exc:
        rl.hit("alice")

    assert exc.value.status == 429
    assert exc.value.errcode == Errcode.LIMIT_EXCEEDED
    assert retry_after_ms(exc) == 1000  # one token at 1/s
    body = exc.value.body()
    assert body["errcode"] == "M_LIMIT_EXCEEDED"
    assert body["retry_after_ms"] == 1000


def test_a_refused_hit_consumes_nothing() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_second=1.0, burst=1)
    rl.hit("k")
    for _ in range(5):
        with pytest.raises(MatrixError):
            rl.hit("k")
    clock.advance(1.0)
    rl.hit("k")  # refused attempts did not push the wait further out


def test_bucket_refills_with_time() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_second=2.0, burst=2)
    rl.hit("k")
    rl.hit("k")
    with pytest.raises(MatrixError) as exc:
        rl.check("k")
    assert retry_after_ms(exc) == 500

    clock.advance(0.25)
    with pytest.raises(MatrixError) as exc:
        rl.check("k")
    assert retry_after_ms(exc) == 250  # half a token refilled, half still to wait for

    clock.advance(0.25)
    rl.hit("k")
    with pytest.raises(MatrixError):
        rl.hit("k")


def test_refill_is_capped_at_burst() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_second=1.0, burst=2)
    clock.advance(3600)  # a long idle time does not bank more than `burst`
    rl.hit("k")
    rl.hit("k")
    with pytest.raises(MatrixError):
        rl.hit("k")


def test_check_does_not_consume() -> None:
    clock = FakeClock()
    rl = limiter(clock, burst=2)
    for _ in range(10):
        rl.check("k")
    rl.hit("k")
    rl.hit("k")
    with pytest.raises(MatrixError):
        rl.check("k")


def test_consume_can_go_negative_and_lengthens_the_wait() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_second=1.0, burst=2)
    for _ in range(5):
        rl.consume("k")  # no check: tokens go 2 → -3

    with pytest.raises(MatrixError) as exc:
        rl.check("k")
    assert retry_after_ms(exc) == 4000  # from -3 back up to 1 at 1/s

    clock.advance(3.0)
    with pytest.raises(MatrixError):
        rl.check("k")
    clock.advance(1.0)
    rl.check("k")


def test_keys_are_independent() -> None:
    clock = FakeClock()
    rl = limiter(clock, burst=1)
    rl.hit("alice")
    with pytest.raises(MatrixError):
        rl.hit("alice")
    rl.hit("bob")
    rl.check("carol")


def test_zero_rate_never_refills() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_second=0.0, burst=1)
    rl.hit("k")
    clock.advance(10_000)
    with pytest.raises(MatrixError) as exc:
        rl.check("k")
    assert retry_after_ms(exc) > 0


def test_pruning_bounds_memory_but_keeps_throttled_keys() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_second=1.0, burst=2, max_keys=3)
    for _ in range(10):
        rl.consume("attacker")  # deep in debt: -8 tokens
    for key in ("b", "c", "d"):
        rl.consume(key)
    clock.advance(2.0)  # b, c, d are full again; attacker is still at -6

    rl.consume("e")  # over max_keys: full buckets are dropped

    # The limiter's buckets are its memory; a full bucket carries no information.
    assert set(rl._buckets) == {"attacker", "e"}
    with pytest.raises(MatrixError) as exc:
        rl.check("attacker")
    assert retry_after_ms(exc) == 7000
    # A pruned key behaves like a fresh one: its full burst is available.
    rl.hit("b")
    rl.hit("b")
    with pytest.raises(MatrixError):
        rl.hit("b")


def test_many_keys_stay_bounded() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_second=1.0, burst=1, max_keys=10)
    largest = 0
    for i in range(1000):
        rl.hit(f"ip{i}")
        largest = max(largest, len(rl._buckets))
        clock.advance(1.0)  # each earlier bucket is full again by the next hit
    assert largest <= 10


def test_rate_limited_rounds_up_to_at_least_one_ms() -> None:
    assert rate_limited(0.0).extra == {"retry_after_ms": 1}
    assert rate_limited(0.0001).extra == {"retry_after_ms": 1}
    assert rate_limited(1.2341).extra == {"retry_after_ms": 1235}
    err = rate_limited(2.0)
    assert (err.status, err.errcode) == (429, Errcode.LIMIT_EXCEEDED)


def test_pruning_cost_and_memory_stay_bounded_when_nothing_refills() -> None:
    """An attacker cycling through addresses cannot make each request scan every bucket."""
    clock = FakeClock()
    rl = limiter(clock, per_second=0.001, burst=1, max_keys=100)
    for i in range(1000):
        rl.consume(f"ip{i}")  # none of these refill
    assert len(rl._buckets) <= 200
    assert "ip999" in rl._buckets  # the most recent keys are the ones kept


class SharedLevel:
    """A shared bucket store answering at once (a `SharedBuckets`): the level other processes
    left is `level` minus what this process takes."""

    def __init__(self, level: float) -> None:
        self.level = level
        self.forgotten_keys: list[str] = []

    def consumed(self, key: str, update: Callable[[float], None]) -> None:
        self.level -= 1
        update(self.level)

    def forgotten(self, key: str) -> None:
        self.forgotten_keys.append(key)


def test_a_shared_bucket_level_replaces_the_local_one() -> None:
    """With several processes the limit is one for all (services/ratelimit.py): after its
    first action here, a key other processes have used up is limited here too."""
    clock = FakeClock()
    shared = SharedLevel(level=0.0)  # the other processes took the whole burst
    rl = RateLimiter(clock, RateLimit(per_second=1.0, burst=3), shared=shared)
    rl.hit("alice")  # decided locally, at once: this process had not heard of alice
    with pytest.raises(MatrixError) as exc:
        rl.hit("alice")
    assert retry_after_ms(exc) == 2000  # the shared level is -1: two tokens to wait for
    rl.forget("alice")
    assert shared.forgotten_keys == ["alice"]
    rl.hit("alice")
