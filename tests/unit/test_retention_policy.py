"""A room's effective retention lifetime (services/retention/policy.py), the one function both
the read door and the purge use.

MSC1763: a room's `m.room.retention` sets `max_lifetime` in milliseconds; "the server may
restrict the values" it honours (Synapse: `allowed_lifetime_min` / `allowed_lifetime_max`, to
which a room's value is clamped), and rooms without one follow the server's default.
"""

from __future__ import annotations

import pytest

from bastion.services.policy.document import RetentionPolicy
from bastion.services.retention.policy import effective_max_lifetime, max_lifetime_of

DAY = 86_400_000


@pytest.mark.parametrize(
    ("policy", "room", "expected"),
    [
        (RetentionPolicy(), None, None),  # no default, no room value: kept forever
        (RetentionPolicy(), DAY, DAY),  # the room's own value, no bounds
        (RetentionPolicy(default_max_lifetime_ms=7 * DAY), None, 7 * DAY),
        (RetentionPolicy(default_max_lifetime_ms=7 * DAY), DAY, DAY),  # the room wins
        (RetentionPolicy(allowed_min_lifetime_ms=3 * DAY), DAY, 3 * DAY),  # clamped up
        (RetentionPolicy(allowed_max_lifetime_ms=30 * DAY), 90 * DAY, 30 * DAY),  # clamped down
        (
            RetentionPolicy(default_max_lifetime_ms=DAY, allowed_min_lifetime_ms=2 * DAY),
            None,
            2 * DAY,
        ),  # the default is clamped too
        (RetentionPolicy(allowed_max_lifetime_ms=30 * DAY), None, None),  # no lifetime at all
    ],
)
def test_effective_max_lifetime(policy: RetentionPolicy, room: int | None, expected: int) -> None:
    assert effective_max_lifetime(policy, room) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"max_lifetime": 1000}, 1000),
        ({"max_lifetime": 0}, None),
        ({"max_lifetime": -5}, None),
        ({"max_lifetime": "1000"}, None),
        ({"max_lifetime": True}, None),
        ({"min_lifetime": 1000}, None),
        ({}, None),
        ("not an object", None),
    ],
)
def test_max_lifetime_of_a_retention_event(content: object, expected: int | None) -> None:
    """Only a positive integer `max_lifetime` sets a lifetime; anything else is ignored."""
    assert max_lifetime_of(content) == expected
