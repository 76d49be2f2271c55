"""Wiring of application services (services/appservices/), called by wiring.py."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.app.positions import readable_bus
from bastion.clock import Clock
from bastion.config import Config
from bastion.pubsub.base import Bus
from bastion.pubsub.messages import EventsPersisted, TypingChanged
from bastion.services.accounts import AccountService
from bastion.services.appservices.client import AppServiceClient
from bastion.services.appservices.delivery import AppServiceDelivery
from bastion.services.appservices.encryption import EncryptionCollector
from bastion.services.appservices.ephemeral import EphemeralCollector
from bastion.services.appservices.identity import AppServiceIdentities
from bastion.services.appservices.interest import Interest
from bastion.services.appservices.queries import AppServiceNamespaces
from bastion.services.appservices.registration import load_registrations
from bastion.services.appservices.registry import AppServiceRegistry
from bastion.services.appservices.service import AppServices
from bastion.services.auth import AuthService
from bastion.services.ephemeral.typing import TypingService
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.members_cache import RoomMembersCache
from bastion.services.presence.service import PresenceService
from bastion.services.ratelimit import RateLimiter
from bastion.services.retention.policy import RoomRetention
from bastion.store.database import Database
from bastion.store.sql.appservices import SqlAppServiceStore
from bastion.store.sql.devices import SqlDeviceStore
from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.keys import SqlKeyStore
from bastion.store.sql.memberships import SqlMembershipStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.to_device import SqlToDeviceStore
from bastion.store.sql.users import SqlUserStore
from bastion.store.stream import PositionAllocator


@dataclass(frozen=True, slots=True)
class AppServiceParts:
    """Built first (accounts, rooms and aliases ask them): the registrations, one HTTP client
    (closed with the delivery worker, or by `Runtime.close`), the namespace checks and queries."""

    registry: AppServiceRegistry
    client: AppServiceClient
    namespaces: AppServiceNamespaces


def appservice_parts(config: Config) -> AppServiceParts:
    """From `[appservices]` (load_config checked the registration files)."""
    files = config.appservices.registration_files
    registry = AppServiceRegistry(load_registrations(files, config.server_name))
    client = AppServiceClient(config.appservices.request_timeout_seconds)
    return AppServiceParts(registry, client, AppServiceNamespaces(registry, client))


class _RoomFacts:
    """What interest.py reads of a room: its joined members (the members cache) and aliases;
    and a user's joined rooms."""

    def __init__(self, db: Database, members: RoomMembersCache) -> None:
        self._db, self._members, self._rooms = db, members, SqlRoomStore()
        self._memberships = SqlMembershipStore()

    async def joined(self, room_id: str) -> set[str]:
        return await self._members.joined(room_id)

    async def aliases(self, room_id: str) -> list[str]:
        return await self._rooms.aliases_of_room(self._db, room_id)

    async def rooms_of(self, user_id: str) -> list[str]:
        rows = await self._memberships.rooms_of_user(self._db, user_id, ["join"])
        return [row.room_id for row in rows]


@dataclass(frozen=True, slots=True)
class DeliveryParts:
    """What the transaction loops read through, built by the room services."""

    formatter: EventFormatter
    members: RoomMembersCache
    retention: RoomRetention
    events: SqlEventStore
    typing: TypingService
    presence: PresenceService


def appservice_delivery(
    config: Config,
    appservices: AppServiceParts,
    runtime: tuple[Database, Clock, PositionAllocator, Bus],
    parts: DeliveryParts,
) -> AppServiceDelivery:
    """The transaction loops (started by the serving app's worker), woken by room events."""
    db, clock, positions, bus = runtime
    facts = _RoomFacts(db, parts.members)
    store, interest = SqlAppServiceStore(), Interest(facts)
    encryption = EncryptionCollector(db, (SqlToDeviceStore(), SqlKeyStore()), interest, facts)
    presence = parts.presence if parts.presence.enabled else None  # disabled: never read
    delivery = AppServiceDelivery(
        db, (store, parts.events), appservices.registry,
        (interest, parts.formatter, parts.retention), (positions, appservices.client, clock),
        ephemeral=EphemeralCollector(db, store, interest, parts.typing, presence=presence),
        encryption=encryption,
        retry_s=(1.0, config.appservices.retry_max_seconds),
    )  # fmt: skip
    # woken once the position is readable here (with several processes, an event another one
    # wrote may be announced before this process may read up to it: app/positions.py)
    readable_bus(bus, positions).subscribe(EventsPersisted, delivery.on_persisted)
    bus.subscribe(TypingChanged, delivery.on_typing)
    return delivery


def appservice_services(
    db: Database,
    appservices: AppServiceParts,
    account_parts: tuple[AccountService, AuthService, RateLimiter],
    delivery: AppServiceDelivery,
) -> AppServices:
    """`Services.appservices`: identity, registration, login, ping, status."""
    accounts, auth, limiter = account_parts
    identities = AppServiceIdentities(
        db, appservices.registry, (SqlUserStore(), SqlDeviceStore()), accounts, auth, limiter
    )
    return AppServices(identities, delivery, appservices.client)
