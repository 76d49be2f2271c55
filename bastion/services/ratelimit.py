"""Token-bucket rate limits, kept in memory per process.

A bucket holds up to `burst` tokens and refills at `per_second`. Memory and CPU stay bounded:
buckets are kept in least-recently-used order; past `max_keys`, each new action looks at no more
than the PRUNE_SCAN oldest buckets and drops those that have refilled completely (they carry no
information); past twice `max_keys` (an attacker cycling through many addresses) the least
recently used buckets are forgotten even if throttled.
With several processes (a `SharedBuckets`, pubsub/redis_shared.py) the decision is still
local and immediate, and each consumption is also sent to the shared bucket; its level replaces
the local one when the reply comes, so the processes share one limit (at most one action per
process beyond it, while a reply is in flight) and never wait for, or fail because of, Redis.
The persistent account lockout lives in the database (see `credentials.py`).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from itertools import islice
from typing import Protocol

from bastion.clock import Clock
from bastion.config import RateLimit
from bastion.errors import Errcode, MatrixError

PRUNE_SCAN = 64


class SharedBuckets(Protocol):
    """One kind of limit's buckets shared with the other processes."""

    def consumed(self, key: str, update: Callable[[float], None]) -> None:
        """One token of `key` was taken here; `update(tokens)` later with the shared level."""
        ...

    def forgotten(self, key: str) -> None:
        """`key` starts over with a full bucket everywhere."""
        ...


class RateLimiter:
    """One kind of limit (say, logins per address), keyed by who is acting."""

    def __init__(
        self,
        clock: Clock,
        limit: RateLimit,
        *,
        max_keys: int = 100_000,
        shared: SharedBuckets | None = None,
    ) -> None:
        self._clock = clock
        self._shared = shared
        self._rate = limit.per_second
        self._burst = float(limit.burst)
        self._max_keys = max_keys
        # key -> (tokens, at monotonic time), least recently used first
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self._burst, now))
        return min(self._burst, tokens + (now - at) * self._rate)

    def check(self, key: str) -> None:
        """Raise 429 M_LIMIT_EXCEEDED if `key` has no token left; consumes nothing."""
        now = self._clock.monotonic()
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            wait = (1.0 - tokens) / self._rate if self._rate > 0 else 3600.0
            raise rate_limited(wait)

    def consume(self, key: str) -> None:
        """Take one token from `key` (it may go below zero, which lengthens the wait)."""
        now = self._clock.monotonic()
        self._buckets[key] = (self._tokens(key, now) - 1.0, now)
        self._buckets.move_to_end(key)
        if len(self._buckets) > self._max_keys:
            self._prune(now)
        if self._shared is not None:
            self._shared.consumed(key, lambda tokens: self._adopt(key, tokens))

    def _adopt(self, key: str, tokens: float) -> None:
        """The shared bucket's level (every process's actions) replaces this process's."""
        self._buckets[key] = (min(self._burst, tokens), self._clock.monotonic())
        self._buckets.move_to_end(key)

    def hit(self, key: str) -> None:
        """Check, then consume: the usual way to limit one action."""
        self.check(key)
        self.consume(key)

    def forget(self, key: str) -> None:
        """Drop what is known of `key`: its next action starts with a full bucket."""
        self._buckets.pop(key, None)
        if self._shared is not None:
            self._shared.forgotten(key)

    def _prune(self, now: float) -> None:
        oldest = list(islice(self._buckets, PRUNE_SCAN))
        for key in oldest:
            if self._tokens(key, now) >= self._burst:
                del self._buckets[key]
        while len(self._buckets) > 2 * self._max_keys:
            self._buckets.popitem(last=False)


MAX_OVERRIDE_LIMITERS = 1000  # distinct (rate, burst) overrides kept; they are few in practice


# Makes the limiter of one kind of limit: (limit, name) -> limiter, shared between processes
# when they share rate limits (app/redis_wiring.py `SharedState.limiter`).
LimiterFactory = Callable[[RateLimit, str], RateLimiter]


class AccountLimits:
    """The requests-per-account limit, with the accounts an admin gave a limit of their own
    (Synapse's `override_ratelimit`: a bot that must send more than people do).

    Each distinct override (rate, burst) is a kind of limit of its own, made by `make_limiter`
    under a name that says both (`requests:override:<rate>:<burst>`), so with several processes
    its buckets are shared as the default limit's are: an overridden account gets its rate, not
    its rate once per process. A rate of 0: no limit."""

    def __init__(
        self, clock: Clock, default: RateLimiter, make_limiter: LimiterFactory | None = None
    ) -> None:
        self._default = default
        self._make_limiter = make_limiter or (lambda limit, _name: RateLimiter(clock, limit))
        self._overridden: OrderedDict[tuple[int, int], RateLimiter] = OrderedDict()

    def hit(self, user_id: str, override: tuple[int, int] | None) -> None:
        """Check and consume one request of `user_id` under its limit (429 when none is left)."""
        if override is None:
            self._default.hit(user_id)
            return
        per_second, burst = override
        if per_second <= 0:
            return
        limiter = self._overridden.get(override)
        if limiter is None:
            limit = RateLimit(per_second=per_second, burst=max(1, burst))
            limiter = self._make_limiter(limit, f"requests:override:{per_second}:{burst}")
            self._overridden[override] = limiter
            if len(self._overridden) > MAX_OVERRIDE_LIMITERS:
                self._overridden.popitem(last=False)
        self._overridden.move_to_end(override)
        limiter.hit(user_id)


def rate_limited(wait_seconds: float) -> MatrixError:
    """The spec's 429 with `retry_after_ms`."""
    retry_after_ms = max(1, math.ceil(wait_seconds * 1000))
    return MatrixError(
        429,
        Errcode.LIMIT_EXCEEDED,
        "Too many requests; retry later",
        {"retry_after_ms": retry_after_ms},
    )
