"""Token-bucket rate limits, kept in memory per process.

A bucket holds up to `burst` tokens and refills at `per_second`. Memory and CPU stay bounded:
buckets are kept in least-recently-used order; past `max_keys`, each new action looks at no more
than the PRUNE_SCAN oldest buckets and drops those that have refilled completely (they carry no
information); past twice `max_keys` (an attacker cycling through many addresses) the least
recently used buckets are forgotten even if throttled.
With several processes each keeps its own buckets; the persistent account lockout lives in the
database (see `credentials.py`), so it holds across processes.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from itertools import islice

from bastion.clock import Clock
from bastion.config import RateLimit
from bastion.errors import Errcode, MatrixError

PRUNE_SCAN = 64


class RateLimiter:
    """One kind of limit (say, logins per address), keyed by who is acting."""

    def __init__(self, clock: Clock, limit: RateLimit, *, max_keys: int = 100_000) -> None:
        self._clock = clock
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

    def hit(self, key: str) -> None:
        """Check, then consume: the usual way to limit one action."""
        self.check(key)
        self.consume(key)

    def forget(self, key: str) -> None:
        """Drop what is known of `key`: its next action starts with a full bucket."""
        self._buckets.pop(key, None)

    def _prune(self, now: float) -> None:
        oldest = list(islice(self._buckets, PRUNE_SCAN))
        for key in oldest:
            if self._tokens(key, now) >= self._burst:
                del self._buckets[key]
        while len(self._buckets) > 2 * self._max_keys:
            self._buckets.popitem(last=False)


def rate_limited(wait_seconds: float) -> MatrixError:
    """The spec's 429 with `retry_after_ms`."""
    retry_after_ms = max(1, math.ceil(wait_seconds * 1000))
    return MatrixError(
        429,
        Errcode.LIMIT_EXCEEDED,
        "Too many requests; retry later",
        {"retry_after_ms": retry_after_ms},
    )
