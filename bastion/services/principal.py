"""Principals: who acts on the server, and how the audit log names them.

A `Principal` is one of a closed set of frozen types, and nothing else:

- `Requester`: a user's device, what an access token resolves to (services/auth.py);
- `ScimClient`: an identity provider provisioning accounts over SCIM;
- `AppService`: an application service (a bridge or bot registered with the server);
- `ServerActor`: the server itself, acting for a stated reason (offboarding, moderation);
- `Operator`: a person at the `bastion` CLI, who already holds the config and the database;
- `Unauthenticated`: a client not yet authenticated (a failed login), by address.

Every admin-capable service method takes the actor as its first argument, so whoever records
the action names who did it without guessing: today `log_admin_action`, one line on the
`bastion.admin` logger after commit carrying the actor (`record.actor`), and a record in the
audit log (services/audit/) in the action's transaction, filed under `audit_id`.

Each type says how it is named (`kind`, `audit_name`) and whether it may do admin things: admin
power is decided by `require_admin()` and `require_self_or_admin()` here (only client-API checks
of "an admin or a room moderator" read `Requester.is_admin` themselves). A user's device is an
admin only while its account is one (read with the token, on every request); the server itself
and an operator are admins; a SCIM client and an application service are not (their own,
narrower powers come with the features that authenticate them).

This module imports nothing from other services, so every service can depend on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from bastion.errors import Errcode, MatrixError

_admin_log = logging.getLogger("bastion.admin")


class ActorKind(StrEnum):
    """The kinds of principal, as the audit log stores them."""

    USER = "user"
    SCIM_CLIENT = "scim_client"
    APP_SERVICE = "app_service"
    SERVER = "server"
    OPERATOR = "operator"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Requester:
    """A user's device: who is making an authenticated client request."""

    kind: ClassVar[ActorKind] = ActorKind.USER
    user_id: str
    device_id: str
    is_admin: bool
    # The hash of the access token the request came with (services/auth.py), so a long-poll can
    # tell a token replaced on a kept device (a new login with its device_id) from a live one.
    token_hash: str | None = field(default=None, compare=False, repr=False)
    # The application service acting as this user (services/appservices/identity.py), by its
    # registration's ID; `device_id` is then "" unless the service named a device.
    appservice: str | None = None
    # An admin's shadow ban (services/shadow_ban.py), read with the token: the request is
    # answered as if it worked while its room events, invites and typing reach no one.
    shadow_banned: bool = False

    @property
    def audit_name(self) -> str:
        """`@alice:example.org device ABCDEFGHIJ`, or `@_irc_bob:example.org via application
        service irc`."""
        if self.appservice is not None:
            return f"{self.user_id} via application service {self.appservice}"
        return f"{self.user_id} device {self.device_id}"

    @property
    def audit_id(self) -> str:
        """The user ID: what the audit log files the action under."""
        return self.user_id

    def require_admin(self) -> None:
        """Raise 403 unless this user's account is a server admin."""
        if not self.is_admin:
            raise MatrixError(403, Errcode.FORBIDDEN, "You are not a server admin")


@dataclass(frozen=True, slots=True)
class ScimClient:
    """An identity provider's SCIM client, named as its credentials were issued."""

    kind: ClassVar[ActorKind] = ActorKind.SCIM_CLIENT
    name: str

    @property
    def audit_name(self) -> str:
        """`SCIM client okta`."""
        return f"SCIM client {self.name}"

    @property
    def audit_id(self) -> str:
        """The name the client's token was issued under."""
        return self.name

    def require_admin(self) -> None:
        """Always 403: provisioning is not general admin power."""
        raise MatrixError(403, Errcode.FORBIDDEN, f"{self.audit_name} is not a server admin")


@dataclass(frozen=True, slots=True)
class AppService:
    """An application service, by the ID of its registration."""

    kind: ClassVar[ActorKind] = ActorKind.APP_SERVICE
    id: str

    @property
    def audit_name(self) -> str:
        """`application service irc-bridge`."""
        return f"application service {self.id}"

    @property
    def audit_id(self) -> str:
        """The registration ID."""
        return self.id

    def require_admin(self) -> None:
        """Always 403: an application service acts as its users, never as an admin."""
        raise MatrixError(403, Errcode.FORBIDDEN, f"{self.audit_name} is not a server admin")


@dataclass(frozen=True, slots=True)
class ServerActor:
    """The server itself, acting for `reason` (offboarding, moderation, ...)."""

    kind: ClassVar[ActorKind] = ActorKind.SERVER
    reason: str

    @property
    def audit_name(self) -> str:
        """`server (offboarding)`."""
        return f"server ({self.reason})"

    @property
    def audit_id(self) -> str:
        """`server`: the reason goes in the record's details."""
        return "server"

    def require_admin(self) -> None:
        """The server may do anything it was built to do."""


@dataclass(frozen=True, slots=True)
class Operator:
    """A person at the `bastion` CLI, by operating-system user ("cli" when unknown)."""

    kind: ClassVar[ActorKind] = ActorKind.OPERATOR
    os_user: str = "cli"

    @property
    def audit_name(self) -> str:
        """`operator root`."""
        return f"operator {self.os_user}"

    @property
    def audit_id(self) -> str:
        """The operating-system user."""
        return self.os_user

    def require_admin(self) -> None:
        """Whoever can run the CLI can read the database: they are an admin."""


@dataclass(frozen=True, slots=True)
class Unauthenticated:
    """Someone not (yet) authenticated, by client address: who tried a login that failed."""

    kind: ClassVar[ActorKind] = ActorKind.ANONYMOUS
    ip: str

    @property
    def audit_name(self) -> str:
        """`unauthenticated client at 203.0.113.7`."""
        return f"unauthenticated client at {self.ip}"

    @property
    def audit_id(self) -> str:
        """The client address."""
        return self.ip

    def require_admin(self) -> None:
        """Always 403."""
        raise MatrixError(403, Errcode.FORBIDDEN, "Not authenticated")


Principal = Requester | ScimClient | AppService | ServerActor | Operator | Unauthenticated


def require_self_or_admin(actor: Principal, user_id: str) -> None:
    """Raise 403 unless `actor` is one of `user_id`'s own devices or may do admin things."""
    if isinstance(actor, Requester) and actor.user_id == user_id:
        return
    actor.require_admin()


def log_admin_action(actor: Principal, action: str) -> None:
    """Log a committed admin action on `bastion.admin`: `operator root deactivated @a:x`."""
    _admin_log.info("%s %s", actor.audit_name, action, extra={"actor": actor})
