"""Shadow bans (Synapse's `POST/DELETE /_synapse/admin/v1/users/{userId}/shadow_ban`): a
moderation tool of last resort for an abusive account, whose requests keep being answered as
if they worked while what they would do reaches no one, so it takes the person longer to notice
and move to another account.

What a shadow-banned account's requests do, as in Synapse: a message, state event, reaction or
redaction is not stored and is answered with an event ID that names no event (the same one
again on a retry of its transaction; the real event for a transaction stored before the ban,
retried after it); an invite is answered `{}` and no one is invited;
`createRoom` creates the room without its invitees; a room upgrade is answered with a room ID
that names no room; typing is answered and shown to no one; a display name or avatar change
updates the profile (and the user directory) but not the member events in its rooms (nor does a
per-room name or avatar sent as a member state event).
Joining, leaving, kicking and banning (by the room's rules), reading, receipts, to-device
messages and key uploads work as for anyone. Synapse also sleeps 1-10 s before each pretended
answer; we do not (a request that is slow only when it was dropped is itself the tell).

Why the check is on the request and not in the event pipeline's `check` phase: the pipeline
can only refuse or rewrite an event, while a shadow ban must answer as if the event were
written; and the ban concerns what the account's own client asks for, not events made for it
by the server (offboarding's leave events, an admin's redaction, the server notices room). The
flag comes with the access token (`Requester.shadow_banned`, read on every request), so a ban
applies at the account's next request on every process; an application service acting as a
user is never shadow-banned (as in Synapse).
"""

from __future__ import annotations

import base64
import hmac
import logging
import secrets

from bastion.services.principal import Requester
from bastion.store.records import SendTxn

_log = logging.getLogger(__name__)
_TXN_KEY = secrets.token_bytes(32)  # fake_event_id: drawn per process, never stored


def fake_event_id(txn: SendTxn | None = None) -> str:
    """An event ID in the shape of a real one (`$` and 43 URL-safe characters) naming none.

    For a send with a transaction ID, the same ID on a retry of the same transaction (the spec's
    idempotency, which a real send keeps; a new ID on a retry would tell the account): a keyed
    hash of the transaction, with a key drawn when the process starts, so a retry reaching this
    process again gets the same answer (as Synapse's response cache, also held per process)."""
    if txn is None:
        return "$" + secrets.token_urlsafe(32)
    parts = (txn.user_id, txn.device_id, txn.endpoint, txn.txn_id)
    digest = hmac.digest(_TXN_KEY, "\0".join(parts).encode(), "sha256")
    return "$" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def fake_room_id(server_name: str, room_version: str) -> str:
    """A room ID in the shape the pipeline gives a room of `room_version` (version 12's `!` and
    43 characters, the hash of its create event; else `!random:server`) naming no room."""
    if room_version == "12":
        return "!" + secrets.token_urlsafe(32)
    return f"!{secrets.token_urlsafe(18)}:{server_name}"


def dropped(requester: Requester, what: str, *args: object) -> bool:
    """Whether `requester`'s request is to be answered without effect; logs what was dropped
    (`what % args`, the log and not the audit trail: nothing happened). The text is formatted
    only for a banned account, so the check costs every other request one attribute read."""
    if not requester.shadow_banned:
        return False
    _log.info("dropped " + what + " of shadow-banned %s", *args, requester.user_id)
    return True
