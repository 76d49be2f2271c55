"""Shadow bans (Synapse's `POST/DELETE /_synapse/admin/v1/users/{userId}/shadow_ban`): a
moderation tool of last resort for an abusive account, whose requests keep being answered as
if they worked while what they would do reaches no one, so it takes the person longer to notice
and move to another account.

What a shadow-banned account's requests do, as in Synapse: a message, state event, reaction or
redaction is not stored and is answered with an event ID that names no event; an invite is
answered `{}` and no one is invited; `createRoom` creates the room without its invitees; a room
upgrade is answered with a room ID that names no room; typing is answered and shown to no one;
a display name or avatar change updates the profile (and the user directory) but not the
member events in its rooms (nor does a per-room name or avatar sent as a member state event).
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

import logging
import secrets

from bastion.services.principal import Requester

_log = logging.getLogger(__name__)


def fake_event_id() -> str:
    """An event ID in the shape of a real one (`$` and 43 URL-safe characters) naming none."""
    return "$" + secrets.token_urlsafe(32)


def fake_room_id(server_name: str, room_version: str) -> str:
    """A room ID in the shape the pipeline gives a room of `room_version` (version 12's `!` and
    43 characters, the hash of its create event; else `!random:server`) naming no room."""
    if room_version == "12":
        return "!" + secrets.token_urlsafe(32)
    return f"!{secrets.token_urlsafe(18)}:{server_name}"


def dropped(requester: Requester, what: str) -> bool:
    """Whether `requester`'s request is to be answered without effect; logs what was dropped
    (the log, not the audit trail: nothing happened)."""
    if not requester.shadow_banned:
        return False
    _log.info("dropped %s of shadow-banned %s", what, requester.user_id)
    return True
