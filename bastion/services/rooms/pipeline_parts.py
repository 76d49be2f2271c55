"""What the pipeline (pipeline.py) and its group commit (send_queue.py) share: the results of
writing an event, the errors of a transaction that lost its room's end, and the pure steps of
building an event (authorise, encode, the stored form)."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.errors import Errcode, MatrixError
from bastion.events.auth_rules import AuthError, AuthEvent, check_auth
from bastion.events.builder import EventDraft, Placement
from bastion.events.canonical import canonical_pdu_json
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.services.event_hooks import EventContext
from bastion.store.protocols import StateKey
from bastion.store.records import RoomRecord, SendTxn

MAX_PDU_BYTES = 65_536


class RoomMovedError(Exception):
    """Another writer appended to the room between our read and our write, or holds the room's
    end at a position at or above ours (`end_position`: retry above it)."""

    def __init__(self, end_position: int = 0) -> None:
        super().__init__(end_position)
        self.end_position = end_position


@dataclass(frozen=True, slots=True)
class Written:
    """An event written in a transaction, and what it was authorised against."""

    event: StoredEvent
    context: EventContext


@dataclass(frozen=True, slots=True)
class Built:
    """An authorised event, its encoded PDU, ready to be written."""

    event: StoredEvent
    pdu_json: str
    context: EventContext
    txn: SendTxn | None


class StateChangedError(Exception):
    """The state event a `replaces` send expected to replace is no longer current."""


class AuthRulesRefusal(MatrixError):
    """403 M_FORBIDDEN: the room version's auth rules refused the event."""


def groupable(draft: EventDraft) -> bool:
    """Whether a draft may share a transaction with other sends into its room: a message-like
    event (no state key), not a redaction (which changes another event)."""
    return draft.state_key is None and draft.type != EventType.REDACTION


def too_busy() -> MatrixError:
    return MatrixError(503, Errcode.UNKNOWN, "the room is too busy; try again")


def changes_joined_members(event: StoredEvent) -> bool:
    """Whether a member event moves its user into or out of the room's joined set."""
    if event.membership is None or event.state_key is None:
        return False
    before = event.prev_content.get("membership") if event.prev_content is not None else None
    return (event.membership == "join") != (before == "join")


def encoded(pdu: dict[str, object]) -> str:
    pdu_json = canonical_pdu_json(pdu)
    if len(pdu_json) > MAX_PDU_BYTES:
        raise MatrixError(413, Errcode.TOO_LARGE, f"event is larger than {MAX_PDU_BYTES} bytes")
    return pdu_json.decode()


def auth_event(draft: EventDraft, prev_events: tuple[str, ...] = ()) -> AuthEvent:
    return AuthEvent(draft.type, draft.sender, draft.content, draft.state_key, prev_events)


def authorise(draft: EventDraft, current: dict[StateKey, StoredEvent], room: RoomRecord) -> None:
    state = {
        k: AuthEvent(e.type, e.sender, e.content, e.state_key, event_id=e.event_id)
        for k, e in current.items()
    }
    try:
        check_auth(auth_event(draft, (room.last_event_id,)), state, room.room_version)
    except AuthError as exc:
        raise AuthRulesRefusal(403, Errcode.FORBIDDEN, str(exc)) from exc


def require_current(draft: EventDraft, current: dict[StateKey, StoredEvent], replaces: str) -> None:
    # Read in the same transaction as the room's end, so the end's compare-and-set covers it.
    held = current.get((draft.type, draft.state_key)) if draft.state_key is not None else None
    if held is None or held.event_id != replaces:
        raise StateChangedError(f"{draft.type} {draft.state_key!r} no longer holds {replaces}")


def stored(
    draft: EventDraft,
    room_id: str,
    *,
    event_id: str,
    placement: Placement,
    position: int,
    previous: StoredEvent | None,
    txn: SendTxn | None,
) -> StoredEvent:
    return StoredEvent(
        stream_ordering=position,
        event_id=event_id,
        room_id=room_id,
        type=draft.type,
        sender=draft.sender,
        content=draft.content,
        origin_server_ts=placement.origin_server_ts,
        depth=placement.depth,
        state_key=draft.state_key,
        prev_content=previous.content if previous is not None else None,
        prev_sender=previous.sender if previous is not None else None,
        replaces_state=previous.event_id if previous is not None else None,
        sender_device=txn.device_id if txn is not None else None,
        txn_id=txn.txn_id if txn is not None else None,
    )
