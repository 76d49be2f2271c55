"""What the read door (`services/visibility.py`) hands out for a window of a room's events.

A `Page` carries only the events the viewer may see, plus what callers need to cut tokens from
the window as it was fetched (its size and end positions), so no caller needs the unfiltered
events: a page may be short, but a token never skips or repeats an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bastion.events.model import StoredEvent
from bastion.events.types import EventType


@dataclass(frozen=True, slots=True)
class Span:
    """Stream positions strictly between `after` and `before`: at most `limit`, from the newest
    end when `newest_first`."""

    after: int
    before: int
    limit: int
    newest_first: bool = True


@dataclass(frozen=True, slots=True)
class Page:
    """A window of one room's events as a viewer may see them.

    `fetched`, `oldest` and `newest` describe the window before filtering. `hid_state`: the
    filter or visibility left a state event of the window out; `has_member_event`: the window
    (before filtering) holds a member event; `limited` (timelines): there were more events.
    """

    visible: list[StoredEvent]
    fetched: int = 0
    oldest: int | None = None
    newest: int | None = None
    hid_state: bool = False
    has_member_event: bool = False
    limited: bool = False

    @classmethod
    def of(
        cls, fetched: Sequence[StoredEvent], visible: list[StoredEvent], *, limited: bool = False
    ) -> Page:
        """The page of a fetched window, `visible` being what passed the checks."""
        positions = [e.stream_ordering for e in fetched]
        hid_state = False
        if len(visible) < len(fetched):  # only then can a state event have been left out
            shown = {e.event_id for e in visible}
            hid_state = any(e.is_state and e.event_id not in shown for e in fetched)
        return cls(
            visible,
            fetched=len(fetched),
            oldest=min(positions, default=None),
            newest=max(positions, default=None),
            hid_state=hid_state,
            has_member_event=any(e.type == EventType.MEMBER for e in fetched),
            limited=limited,
        )
