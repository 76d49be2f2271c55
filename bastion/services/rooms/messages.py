"""Sending into rooms: message events, state events and redactions."""

from __future__ import annotations

from typing import Any

from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.model import StoredEvent
from bastion.events.types import EventType
from bastion.services.power_levels import current_power_levels
from bastion.services.presence.service import PresenceService
from bastion.services.principal import Requester
from bastion.services.rooms.pipeline import EventPipeline
from bastion.services.shadow_ban import dropped, fake_event_id
from bastion.store.database import Database
from bastion.store.protocols import EventStore, RoomStore, StateStore
from bastion.store.records import SendTxn

MAX_TXN_ID_LENGTH = 255


class MessageService:
    """Sends message, state and redaction events on behalf of users."""

    def __init__(
        self,
        db: Database,
        pipeline: EventPipeline,
        *,
        events: EventStore,
        state: StateStore,
        rooms: RoomStore,
        presence: PresenceService,
    ) -> None:
        self._db = db
        self._pipeline = pipeline
        self._events = events
        self._state = state
        self._rooms = rooms
        self._presence = presence

    @property
    def pipeline(self) -> EventPipeline:
        return self._pipeline

    async def send(
        self,
        requester: Requester,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        txn_id: str,
        *,
        ts: int | None = None,
    ) -> str:
        """`PUT /rooms/{roomId}/send/{eventType}/{txnId}`, idempotent per (device, path).
        `ts`: an application service's timestamp for the event (`massaged_ts`)."""
        txn = self._txn(requester, f"send/{room_id}/{event_type}", txn_id)
        if dropped(requester, "a %s event in %s", event_type, room_id):
            return await self._pretended(txn)
        if event_type == EventType.REDACTION:
            target = content.get("redacts")
            if not isinstance(target, str):
                raise MatrixError(400, Errcode.BAD_JSON, "m.room.redaction needs content.redacts")
            reason = content.get("reason")
            return await self._redact(
                requester, room_id, target, txn, reason if isinstance(reason, str) else None
            )
        draft = EventDraft(event_type, requester.user_id, content, origin_server_ts=ts)
        event = await self._pipeline.send(room_id, draft, txn=txn)
        await self._presence.acted(requester.user_id)  # sending is activity (spec: presence)
        return event.event_id

    async def set_state(
        self,
        requester: Requester,
        room_id: str,
        event_type: str,
        state_key: str,
        content: dict[str, Any],
        *,
        ts: int | None = None,
    ) -> str:
        """`PUT /rooms/{roomId}/state/{eventType}/{stateKey}`; unchanged content sends nothing.
        `ts` as for `send`."""
        current = await self._state.current_events(self._db, room_id, [(event_type, state_key)])
        existing = current.get((event_type, state_key))
        if (
            existing is not None
            and existing.content == content
            and existing.sender == requester.user_id
        ):
            return existing.event_id
        if requester.shadow_banned and _dropped_for_shadow_ban(event_type, content, existing):
            dropped(requester, "a %s state event in %s", event_type, room_id)
            return fake_event_id()
        draft = EventDraft(event_type, requester.user_id, content, state_key, ts)
        return (await self._pipeline.send(room_id, draft)).event_id

    async def redact(
        self, requester: Requester, room_id: str, event_id: str, txn_id: str, reason: str | None
    ) -> str:
        """`PUT /rooms/{roomId}/redact/{eventId}/{txnId}`: one's own event, or anyone's with the
        room's `redact` power level.

        The pipeline marks the target redacted in the transaction that stores the redaction.
        """
        txn = self._txn(requester, f"redact/{room_id}/{event_id}", txn_id)
        if dropped(requester, "a redaction in %s", room_id):
            return await self._pretended(txn)
        return await self._redact(requester, room_id, event_id, txn, reason)

    async def _pretended(self, txn: SendTxn) -> str:
        """A shadow-banned send's answer: the event its transaction stored, when it was sent
        before the ban and is retried after it (a new ID for a retry would break the spec's
        idempotency and tell the account), else a fake one (shadow_ban.py)."""
        stored = await self._events.find_txn(self._db, txn)
        return stored if stored is not None else fake_event_id(txn)

    async def _redact(
        self, requester: Requester, room_id: str, event_id: str, txn: SendTxn, reason: str | None
    ) -> str:
        target = await self._events.get_event(self._db, event_id)
        if target is None or target.room_id != room_id:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown event {event_id}")
        if target.sender != requester.user_id:
            await self._require_redact_power(requester.user_id, room_id)
        content: dict[str, Any] = {"redacts": event_id}
        if reason is not None:
            content["reason"] = reason
        draft = EventDraft(EventType.REDACTION, requester.user_id, content)
        return (await self._pipeline.send(room_id, draft, txn=txn)).event_id

    async def _require_redact_power(self, user_id: str, room_id: str) -> None:
        power = await current_power_levels(self._db, self._rooms, self._state, room_id)
        if power.user_level(user_id) < power.redact:
            raise MatrixError(403, Errcode.FORBIDDEN, "you may not redact other users' events")

    def massaged_ts(self, requester: Requester, raw: str | None) -> int | None:
        """The `ts` query parameter of a send or state request: only an application service's
        counts (spec: application-service-api#timestamp-massaging; others' is ignored, as the
        spec makes it valid for services only). 400 M_INVALID_PARAM unless a non-negative
        integer of milliseconds no later than a minute from now: a time in the future would
        keep the event from its room's retention."""
        if raw is None or requester.appservice is None:
            return None
        if not raw.isdigit() or len(raw) > 15:
            raise MatrixError(400, Errcode.INVALID_PARAM, "ts must be milliseconds since 1970")
        ts = int(raw)
        if ts > self._pipeline.clock.now_ms() + 60_000:
            raise MatrixError(400, Errcode.INVALID_PARAM, "ts must not be in the future")
        return ts

    @staticmethod
    def _txn(requester: Requester, endpoint: str, txn_id: str) -> SendTxn:
        """The idempotency key of a send: this device, this endpoint, this transaction ID."""
        if not txn_id or len(txn_id) > MAX_TXN_ID_LENGTH:
            raise MatrixError(400, Errcode.INVALID_PARAM, "invalid transaction ID")
        return SendTxn(requester.user_id, requester.device_id, endpoint, txn_id)


def _dropped_for_shadow_ban(
    event_type: str, content: dict[str, Any], existing: StoredEvent | None
) -> bool:
    """Whether a shadow-banned account's state event is one to drop (services/shadow_ban.py):
    any but a membership change, and of those an invite or a joined member's new per-room name
    or avatar; joining, leaving, kicking and banning go through, as in Synapse."""
    if event_type != EventType.MEMBER:
        return True
    membership = content.get("membership")
    was_joined = existing is not None and existing.content.get("membership") == "join"
    return membership == "invite" or (membership == "join" and was_joined)
