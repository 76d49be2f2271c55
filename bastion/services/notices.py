"""Server notices (spec: client-server-api#server-notices): one notices room per user, and the
organisation's acceptable-use text sent to every new account.

The notices account (`@server-notices:<server>`, made on demand, never an admin, never
logging in) creates each user's notices room, invites the user (the spec says to invite
rather than join them) and sends into it; the room carries the `m.server_notice` tag in the
user's account data, so clients show it as the server's. It is an ordinary private room with no
room type (the spec defines none: clients find it by the tag), named "Server Notices", where
only the notices account may send (`events_default` 100). Its row in `server_notice_rooms` is
written in the transaction that creates it; a user who has left their notices room gets a new
one with the next notice. A per-user lock keeps two notices at once from making two rooms (in
this process).

The spec says a user "must not expect to be able to reject an invite to join the server notices
room": `NoticeRoomGuard` (an event hook) refuses that rejection with 403
M_CANNOT_LEAVE_SERVER_NOTICE_ROOM; once joined, the user may leave (the spec's "should not
prevent"), and the next notice then makes a new room.

Every notice is audited (`server_notice.send`, target the user): an admin's send through
`attempt()` (a refused one as failed), the success record right after the notice commits, since
the pipeline writes the event in a transaction of its own. The acceptable-use notice is sent
after the account's creation has committed (`AccountService` calls `account_created`); it never
makes the creation fail (a failure is logged and audited as failed). Each language's text goes
as its own message, so every client lays out Arabic right-to-left and Polish and English
left-to-right.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from typing_extensions import override

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.events.builder import EventDraft
from bastion.events.types import EventType, before_v11
from bastion.ids import UserID
from bastion.services.accounts import AccountService
from bastion.services.audit.trail import FAILURE, AuditTrail
from bastion.services.event_hooks import EventHook
from bastion.services.keyed_locks import KeyedLocks
from bastion.services.policy.service import PolicyService
from bastion.services.principal import Principal, Requester, ServerActor
from bastion.services.rooms.pipeline import EventPipeline
from bastion.services.tags import TagService
from bastion.store.database import Database, Queryable
from bastion.store.protocols import MembershipStore, UserStore
from bastion.store.protocols.server_notices import ServerNoticeRoomStore
from bastion.store.records import SendTxn

log = logging.getLogger(__name__)

NOTICES_LOCALPART = "server-notices"
NOTICE_TAG = "m.server_notice"
ROOM_NAME = "Server Notices"
ACCEPTABLE_USE = ServerActor("acceptable use notice")
_LANGUAGES = ("en", "ar", "pl")


def notices_user_id(server_name: str) -> str:
    """The notices account of a server."""
    return f"@{NOTICES_LOCALPART}:{server_name}"


@dataclass(frozen=True, slots=True)
class NoticeStores:
    """The stores server notices read and write."""

    rooms: ServerNoticeRoomStore
    memberships: MembershipStore
    users: UserStore


class ServerNotices:
    """Sends server notices to users, each into their own notices room."""

    def __init__(  # noqa: PLR0913 - the collaborators a notice spans
        self,
        db: Database,
        pipeline: EventPipeline,
        stores: NoticeStores,
        *,
        accounts: AccountService,
        tags: TagService,
        policy: PolicyService,
        audit: AuditTrail,
        clock: Clock,
        room_version: str,
    ) -> None:
        self._db, self._pipeline, self._stores = db, pipeline, stores
        self._accounts, self._tags, self._policy = accounts, tags, policy
        self._audit, self._clock, self._room_version = audit, clock, room_version
        self._locks = KeyedLocks()

    @property
    def sender(self) -> str:
        """The notices account's user ID."""
        return notices_user_id(self._pipeline.server_name)

    async def send(
        self,
        actor: Principal,
        user_id: str,
        content: dict[str, Any],
        *,
        event_type: str = EventType.MESSAGE,
        state_key: str | None = None,
        txn_id: str | None = None,
    ) -> str:
        """An admin's notice to a local user (Synapse's send_server_notice); its event ID.

        With `txn_id` (the PUT form), a retransmission from the same admin device returns the
        event the first request stored."""
        actor.require_admin()
        txn = None
        if txn_id is not None and isinstance(actor, Requester):
            txn = SendTxn(actor.user_id, actor.device_id, "send_server_notice", txn_id)
        async with self._audit.attempt(actor, "server_notice.send", user_id):
            event_id = await self._send(user_id, content, event_type, state_key, txn)
        await self._audit.record_alone(
            actor, "server_notice.send", user_id, {"event_id": event_id, "type": event_type}
        )
        return event_id

    async def account_created(self, user_id: str) -> None:
        """Send the acceptable-use text (each non-empty language) to a new account."""
        texts = (await self._policy.current()).acceptable_use
        bodies = [(lang, getattr(texts, lang)) for lang in _LANGUAGES]
        user = await self._stores.users.get_user(self._db, user_id)
        if user is None or user.is_deactivated:  # provisioned inactive (SCIM): nobody to tell
            return
        try:
            for lang, body in bodies:
                if body and body.strip():
                    content = {"msgtype": "m.text", "body": body, "org.bastion.lang": lang}
                    event_id = await self._send(user_id, content, EventType.MESSAGE, None)
                    details = {"event_id": event_id, "acceptable_use": lang}
                    await self._audit.record_alone(
                        ACCEPTABLE_USE, "server_notice.send", user_id, details
                    )
        except Exception as exc:  # the account stands; the failure is visible in the audit log
            log.exception("could not send the acceptable-use notice to %s", user_id)
            reason = {"error": type(exc).__name__, "acceptable_use": True}
            await self._audit.record_alone(
                ACCEPTABLE_USE, "server_notice.send", user_id, reason, outcome=FAILURE
            )

    async def _send(
        self,
        user_id: str,
        content: dict[str, Any],
        event_type: str,
        state_key: str | None,
        txn: SendTxn | None = None,
    ) -> str:
        await self._require_local_user(user_id)
        async with self._locks.lock(user_id):
            room_id = await self._room_for(user_id)
        draft = EventDraft(event_type, self.sender, content, state_key)
        return (await self._pipeline.send(room_id, draft, txn=txn)).event_id

    async def _require_local_user(self, user_id: str) -> None:
        parsed = UserID.parse(user_id)  # 400 M_INVALID_PARAM when it is not a user ID
        if parsed.server_name != self._pipeline.server_name:
            raise MatrixError(
                400, Errcode.INVALID_PARAM, "Server notices can only go to local users"
            )
        user = await self._stores.users.get_user(self._db, user_id)
        if user is None or user.is_deactivated or user_id == self.sender:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown user {user_id}")

    async def _room_for(self, user_id: str) -> str:
        """The user's notices room, made (and tagged) if they have none they are still in."""
        room_id = await self._stores.rooms.get_room(self._db, user_id)
        if room_id is not None:
            member = await self._stores.memberships.get_membership(self._db, user_id, room_id)
            if member is not None and member.membership in ("invite", "join"):
                return room_id
        await self._ensure_sender()
        now = self._clock.now_ms()

        async def remember(t: Queryable, new_room_id: str) -> None:
            await self._stores.rooms.set_room(t, user_id, new_room_id, now)

        events = await self._pipeline.create_room(
            self._drafts(user_id), self._room_version, is_public=False, setup=remember
        )
        room_id = events[0].room_id
        await self._tags.tag_for_server(user_id, room_id, NOTICE_TAG)
        return room_id

    async def _ensure_sender(self) -> None:
        if await self._stores.users.get_user(self._db, self.sender) is not None:
            return
        try:
            async with self._db.transaction() as txn:
                await self._accounts.insert_account(txn, self.sender, None, is_admin=False)
        except MatrixError as exc:  # made meanwhile by another notice
            if exc.errcode != Errcode.USER_IN_USE:
                raise

    def _drafts(self, user_id: str) -> list[EventDraft]:
        sender, version = self.sender, self._room_version

        def state(event_type: str, content: dict[str, Any], state_key: str = "") -> EventDraft:
            return EventDraft(event_type, sender, content, state_key)

        create: dict[str, Any] = {"room_version": version}
        if before_v11(version):
            create["creator"] = sender
        power = {
            "users": {} if version == "12" else {sender: 100},
            "users_default": 0, "events_default": 100, "state_default": 100,
            "ban": 100, "kick": 100, "redact": 100, "invite": 100,
        }  # fmt: skip
        return [
            state(EventType.CREATE, create),
            state(EventType.MEMBER, {"membership": "join"}, sender),
            state(EventType.POWER_LEVELS, power),
            state(EventType.JOIN_RULES, {"join_rule": "invite"}),
            state(EventType.HISTORY_VISIBILITY, {"history_visibility": "shared"}),
            state(EventType.GUEST_ACCESS, {"guest_access": "forbidden"}),
            state(EventType.NAME, {"name": ROOM_NAME}),
            state(EventType.MEMBER, {"membership": "invite"}, user_id),
        ]


class NoticeRoomGuard(EventHook):
    """Refuses a user's rejection of the invite to their server notices room (offboarding,
    which rejects a deactivated account's invites for it, is let through)."""

    def __init__(self, db: Database, stores: NoticeStores) -> None:
        self._db, self._stores = db, stores

    @override
    async def check(self, room_id: str | None, draft: EventDraft) -> None:
        if (
            room_id is None
            or draft.type != EventType.MEMBER
            or draft.state_key != draft.sender
            or draft.content.get("membership") != "leave"
        ):
            return
        if await self._stores.rooms.get_room(self._db, draft.sender) != room_id:
            return
        member = await self._stores.memberships.get_membership(self._db, draft.sender, room_id)
        if member is None or member.membership != "invite":
            return
        user = await self._stores.users.get_user(self._db, draft.sender)
        if user is not None and not user.is_deactivated:
            raise MatrixError(
                403,
                Errcode.CANNOT_LEAVE_SERVER_NOTICE_ROOM,
                "The invite to your server notices room cannot be rejected",
            )
