"""Application service registrations: the YAML files an administrator lists in the config.

The spec (application-service-api#registration) removed registration over HTTP: a compromised
service could have claimed `.*` and read every message. Here, as there, a service exists only
because an administrator put its file in `[appservices] registration_files`, and the server
refuses to start on a file it cannot read or that breaks a rule below, naming the file.

Rules (spec and Synapse's behaviour, which registrations written for Synapse expect):
- `id`, `as_token`, `hs_token` and `sender_localpart` are required; `id` and `as_token` are
  unique across the registrations (the spec's MUST); an `as_token` never equals an `hs_token`.
- `url` may be null (a service that only acts, never receives: no transactions, and `ping`
  answers `M_URL_NOT_SET`); otherwise an http(s) URL.
- Namespaces `users`, `aliases`, `rooms`: lists of `{regex, exclusive}`; a regex matches from
  the start of the ID (Python `re.match`, as Synapse; anchor the end with `$`).
- `rate_limited` (default true) applies to the users it masquerades as, never its sender.
- `receive_ephemeral` (or MSC2409's `de.sorunome.msc2409.push_ephemeral`, which bridges
  still write): receipts, typing and presence in its transactions, and the to-device messages
  of its users' devices (MSC2409/MSC4203, as Synapse sends them: encryption.py).
- `org.matrix.msc3202` (true or false, Synapse's key): device-list changes, one-time key
  counts and unused fallback key types in its transactions (encryption.py). Synapse also
  wants a server-wide experimental switch; here the registration's key is the only one.
- Other keys (MSC keys some bridges add) are accepted and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import yaml


class RegistrationError(Exception):
    """A registration file is unreadable or invalid; the message names the file."""


class NamespaceEntry(msgspec.Struct, frozen=True):
    regex: str
    exclusive: bool = False


class Namespaces(msgspec.Struct, frozen=True):
    users: list[NamespaceEntry] = []
    aliases: list[NamespaceEntry] = []
    rooms: list[NamespaceEntry] = []


class RegistrationFile(msgspec.Struct, frozen=True):
    """The file's fields (spec: definitions/registration.yaml); unknown keys are ignored."""

    id: str
    as_token: str
    hs_token: str
    sender_localpart: str
    url: str | None = None
    namespaces: Namespaces = Namespaces()
    rate_limited: bool = True
    protocols: list[str] = []
    receive_ephemeral: bool = False
    # the unstable name (MSC2409) bridges still write, as Synapse reads it too
    push_ephemeral: bool = msgspec.field(default=False, name="de.sorunome.msc2409.push_ephemeral")
    msc3202: bool = msgspec.field(default=False, name="org.matrix.msc3202")


@dataclass(frozen=True, slots=True)
class Namespace:
    """One compiled namespace entry."""

    pattern: re.Pattern[str]
    exclusive: bool

    def matches(self, value: str) -> bool:
        return self.pattern.match(value) is not None


@dataclass(frozen=True, slots=True)
class AppServiceRegistration:
    """A registration as the server uses it."""

    id: str
    url: str | None
    as_token: str
    hs_token: str
    sender: str  # the full user ID of `sender_localpart`
    users: tuple[Namespace, ...]
    aliases: tuple[Namespace, ...]
    rooms: tuple[Namespace, ...]
    rate_limited: bool
    protocols: tuple[str, ...]
    source: str  # the file it was read from, for messages
    receive_ephemeral: bool = False  # receipts, typing, presence, to-device (v1.13, MSC2409)
    msc3202: bool = False  # device lists, one-time key counts, fallback key types (MSC3202)

    def owns_user(self, user_id: str) -> bool:
        """May this service act as `user_id` (its sender or a user of its namespaces)?"""
        return user_id == self.sender or any(n.matches(user_id) for n in self.users)

    def claims_user(self, user_id: str) -> bool:
        """Is `user_id` in one of its exclusive user namespaces (or its sender)?"""
        return user_id == self.sender or any(n.exclusive and n.matches(user_id) for n in self.users)

    def owns_alias(self, alias: str) -> bool:
        return any(n.matches(alias) for n in self.aliases)

    def claims_alias(self, alias: str) -> bool:
        return any(n.exclusive and n.matches(alias) for n in self.aliases)

    def owns_room(self, room_id: str) -> bool:
        return any(n.matches(room_id) for n in self.rooms)


def load_registrations(paths: list[str], server_name: str) -> list[AppServiceRegistration]:
    """Read and check every file (module docstring); RegistrationError on the first problem."""
    found: list[AppServiceRegistration] = []
    for path in paths:
        registration = _read(Path(path), server_name)
        for other in found:
            if other.id == registration.id:
                raise RegistrationError(f"{path}: id {registration.id!r} is also in {other.source}")
            if other.as_token == registration.as_token:
                raise RegistrationError(f"{path}: as_token is also {other.source}'s")
        found.append(registration)
    return found


def _check(path: Path, parsed: RegistrationFile) -> None:
    for name in ("id", "as_token", "hs_token", "sender_localpart"):
        if not str(getattr(parsed, name)).strip():
            raise RegistrationError(f"{path}: {name} is empty")
    if parsed.as_token == parsed.hs_token:
        raise RegistrationError(f"{path}: as_token and hs_token must differ")
    if parsed.url is not None and not parsed.url.startswith(("http://", "https://")):
        raise RegistrationError(f"{path}: url {parsed.url!r} is not an http(s) URL")
    if not re.fullmatch(r"[a-z0-9._=\-/+]+", parsed.sender_localpart):
        raise RegistrationError(f"{path}: sender_localpart {parsed.sender_localpart!r} is invalid")


def _read(path: Path, server_name: str) -> AppServiceRegistration:
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegistrationError(
            f"cannot read application service registration {path}: {exc}"
        ) from None
    try:
        parsed = msgspec.convert(raw, RegistrationFile)
    except msgspec.ValidationError as exc:
        raise RegistrationError(f"invalid application service registration {path}: {exc}") from None
    _check(path, parsed)

    def compiled(kind: str, entries: list[NamespaceEntry]) -> tuple[Namespace, ...]:
        out: list[Namespace] = []
        for entry in entries:
            try:
                out.append(Namespace(re.compile(entry.regex), entry.exclusive))
            except re.error as exc:
                raise RegistrationError(
                    f"{path}: namespaces.{kind} {entry.regex!r}: {exc}"
                ) from None
        return tuple(out)

    ns = parsed.namespaces
    return AppServiceRegistration(
        id=parsed.id,
        url=parsed.url.rstrip("/") if parsed.url else None,
        as_token=parsed.as_token,
        hs_token=parsed.hs_token,
        sender=f"@{parsed.sender_localpart}:{server_name}",
        users=compiled("users", ns.users),
        aliases=compiled("aliases", ns.aliases),
        rooms=compiled("rooms", ns.rooms),
        rate_limited=parsed.rate_limited,
        protocols=tuple(parsed.protocols),
        source=str(path),
        receive_ephemeral=parsed.receive_ephemeral or parsed.push_ephemeral,
        msc3202=parsed.msc3202,
    )
