"""Request IDs: one per HTTP request, in a context variable that every log line reads.

An incoming `X-Request-ID` (set by a reverse proxy or a client) is kept when it is sane: 1 to
64 characters from `[A-Za-z0-9._:-]`, so that a log line can never be forged or split by it;
anything else is replaced by a fresh random ID. The variable is set for the whole request by the
HTTP edge (api/edge.py) and is None outside a request (start-up, workers).
"""

from __future__ import annotations

import random
import re
from contextvars import ContextVar, Token

_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_request_id: ContextVar[str | None] = ContextVar("bastion_request_id", default=None)


def current_request_id() -> str | None:
    """The ID of the request being served in this context, or None outside a request."""
    return _request_id.get()


def new_request_id() -> str:
    """A fresh random ID (128 bits, hex). It only tells requests apart in logs, so it comes from
    `random` (reseeded in every forked process), without a system call per request."""
    return f"{random.getrandbits(128):032x}"


def accepted_request_id(incoming: str | None) -> str:
    """`incoming` when it is sane (see the module docstring), else a fresh ID."""
    if incoming is not None and _SANE.fullmatch(incoming):
        return incoming
    return new_request_id()


def enter_request(request_id: str) -> Token[str | None]:
    """Make `request_id` current; give the token to `leave_request` when the request ends."""
    return _request_id.set(request_id)


def leave_request(token: Token[str | None]) -> None:
    """Restore the request ID that was current before `enter_request`."""
    _request_id.reset(token)
