"""The composition root: the only place that builds stores, services and the ASGI app.

`Runtime.open` opens the database, applies pending migrations, and wires every collaborator by
constructor injection; `create_app` wraps a runtime in routes and the HTTP edge. Tests use both
directly (in-process over httpx); `bastion serve` uses `create_serving_app`, whose lifespan opens
and closes the runtime around uvicorn.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp

from bastion.api.context import ServerInfo, Services
from bastion.api.edge import HttpEdge
from bastion.api.errors import client_gone, http_error, matrix_error, unexpected_error
from bastion.api.media import upload_body_limits
from bastion.api.routes import build_routes
from bastion.clock import Clock, SystemClock
from bastion.config import Config
from bastion.errors import MatrixError
from bastion.events.builder import ServerIdentity
from bastion.pubsub.memory import MemoryNotifier
from bastion.server_key import load_key
from bastion.services.account_data import AccountDataService
from bastion.services.accounts import AccountService, AccountStores
from bastion.services.auth import AuthService
from bastion.services.credentials import CredentialChecker
from bastion.services.devices import DeviceService
from bastion.services.e2ee.cross_signing import CrossSigningService
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.e2ee.key_backup import KeyBackupService
from bastion.services.e2ee.keys import KeysService
from bastion.services.e2ee.to_device import ToDeviceService
from bastion.services.ephemeral.receipts import ReceiptService, ReceiptStores
from bastion.services.ephemeral.typing import TypingService
from bastion.services.login import LoginService
from bastion.services.media.service import MediaService
from bastion.services.media.storage import LocalDirectoryStorage
from bastion.services.media.thumbnails import ThumbnailService
from bastion.services.passwords import Passwords
from bastion.services.profile import ProfileService
from bastion.services.ratelimit import RateLimiter
from bastion.services.registration import RegistrationService
from bastion.services.relations.bundles import BundledAggregations
from bastion.services.relations.changes import RelationChangeCache
from bastion.services.relations.reads import RelationsReader
from bastion.services.relations.recorder import RelationRecorder
from bastion.services.rooms.aliases import AliasService
from bastion.services.rooms.create import RoomCreator
from bastion.services.rooms.formatter import EventFormatter
from bastion.services.rooms.members_cache import RoomMembersCache
from bastion.services.rooms.membership import MembershipService
from bastion.services.rooms.messages import MessageService
from bastion.services.rooms.pipeline import EventPipeline, PipelineStores
from bastion.services.rooms.reads import RoomReader
from bastion.services.search.indexer import backfill_index
from bastion.services.search.service import SearchService, SearchStores
from bastion.services.sync.rooms import RoomSections
from bastion.services.sync.service import (
    EncryptionStreams,
    EphemeralStreams,
    SyncService,
    SyncStores,
)
from bastion.services.uia import UiaService
from bastion.services.visibility import VisibilityService
from bastion.store.database import Database, open_database
from bastion.store.migrations.runner import migrate
from bastion.store.sql.account_data import SqlAccountDataStore
from bastion.store.sql.devices import SqlDeviceStore
from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.key_backup import SqlKeyBackupStore
from bastion.store.sql.keys import SqlKeyStore
from bastion.store.sql.media import SqlMediaStore
from bastion.store.sql.memberships import SqlMembershipStore
from bastion.store.sql.profiles import SqlProfileStore
from bastion.store.sql.receipts import SqlReceiptStore
from bastion.store.sql.registration_tokens import SqlRegistrationTokenStore
from bastion.store.sql.relations import SqlRelationStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.search import search_store_for
from bastion.store.sql.state import SqlStateStore
from bastion.store.sql.to_device import SqlToDeviceStore
from bastion.store.sql.uia_sessions import SqlUiaSessionStore
from bastion.store.sql.users import SqlUserStore
from bastion.store.stream import StreamPositions

log = logging.getLogger("bastion")


@dataclass
class Runtime:
    """An open database and the services built on it."""

    config: Config
    db: Database
    services: Services
    notifier: MemoryNotifier

    @classmethod
    async def open(cls, config: Config, clock: Clock | None = None) -> Runtime:
        """Open the database, migrate it, and wire the services."""
        clock = clock or SystemClock()
        key = load_key(Path(config.signing_key_path))
        db = await open_database(
            config.database.url,
            schema=config.database.schema,
            pool_size=config.database.pool_size,
            sqlite_synchronous=config.database.sqlite_synchronous,
        )
        try:
            await migrate(db, clock.now_ms())
            await backfill_index(db, search_store_for(db.dialect))
            positions = await StreamPositions.load(db)
        except BaseException:
            await db.close()
            raise
        notifier = MemoryNotifier()
        wiring = _Wiring(
            config, db, clock, positions, notifier, ServerIdentity(config.server_name, key)
        )
        return cls(config, db, wiring.services(), notifier)

    async def close(self) -> None:
        """Close the database."""
        await self.db.close()


@dataclass
class _Wiring:
    """Builds every store and service once, in dependency order."""

    config: Config
    db: Database
    clock: Clock
    positions: StreamPositions
    notifier: MemoryNotifier
    identity: ServerIdentity
    keys: SqlKeyStore = field(default_factory=SqlKeyStore)

    def services(self) -> Services:
        config, db, clock = self.config, self.db, self.clock
        users, devices, profiles = SqlUserStore(), SqlDeviceStore(), SqlProfileStore()
        limits = config.rate_limits
        passwords = Passwords(config.auth)
        credentials = CredentialChecker(
            db,
            users,
            passwords,
            clock,
            config.auth,
            RateLimiter(clock, limits.failed_login_per_account),
        )
        device_lists = DeviceListService(db, self.keys, self.positions, self.notifier)
        auth = AuthService(
            db,
            devices,
            clock,
            config.auth.token_hmac_key,
            RateLimiter(clock, limits.requests_per_user),
            device_lists=device_lists,
        )
        uia = UiaService(db, SqlUiaSessionStore(), credentials, clock, config.server_name)
        accounts = AccountService(
            db, AccountStores(users, devices, profiles), passwords, clock,
            server_name=config.server_name, password_min_length=config.auth.password_min_length,
            device_lists=device_lists,
        )  # fmt: skip
        profile = ProfileService(db, users, profiles)
        registration = RegistrationService(
            db, accounts, auth, uia, SqlRegistrationTokenStore(), clock,
            mode=config.registration.mode, ip_limiter=RateLimiter(clock, limits.register_per_ip),
        )  # fmt: skip
        login = LoginService(
            db, auth, credentials, RateLimiter(clock, limits.login_per_ip), config.server_name
        )
        info = ServerInfo(
            server_name=config.server_name,
            public_baseurl=config.public_baseurl,
            require_auth_for_profile=config.http.require_auth_for_profile,
        )
        encryption = self._encryption_services(devices, uia, device_lists)
        return Services(
            info=info, auth=auth, login=login, uia=uia, registration=registration,
            accounts=accounts, devices=DeviceService(db, devices, uia, device_lists),
            profile=profile,
            **self._room_services(users, profile, encryption), **encryption,
            **self._media_services(),
        )  # fmt: skip

    def _encryption_services(
        self, devices: SqlDeviceStore, uia: UiaService, device_lists: DeviceListService
    ) -> dict[str, Any]:
        db, name = self.db, self.config.server_name
        return {
            "keys": KeysService(db, self.keys, device_lists, name),
            "cross_signing": CrossSigningService(db, self.keys, device_lists, uia),
            "to_device": ToDeviceService(
                db,
                SqlToDeviceStore(),
                devices,
                self.positions,
                self.notifier,
                clock=self.clock,
                server_name=name,
            ),
            "key_backup": KeyBackupService(db, SqlKeyBackupStore()),
            "device_lists": device_lists,
        }

    def _media_services(self) -> dict[str, Any]:
        db, clock, store = self.db, self.clock, SqlMediaStore()
        storage = LocalDirectoryStorage(Path(self.config.media.store_path))
        media = MediaService(
            db, store, storage, clock, self.config.media, server_name=self.config.server_name
        )
        return {"media": media, "thumbnails": ThumbnailService(db, store, storage, media, clock)}

    def _room_services(
        self, users: SqlUserStore, profile: ProfileService, encryption: dict[str, Any]
    ) -> dict[str, Any]:
        db, clock = self.db, self.clock
        rooms, events, state = SqlRoomStore(), SqlEventStore(), SqlStateStore()
        memberships, account_data = SqlMembershipStore(), SqlAccountDataStore()
        members = RoomMembersCache(db, memberships)
        account_data_service = AccountDataService(db, account_data, self.positions, self.notifier)
        typing, receipts = TypingService(members, self.notifier, clock), SqlReceiptStore()
        relations = SqlRelationStore()
        search = search_store_for(db.dialect)
        relation_changes = RelationChangeCache(floor=self.positions.persisted_upto())
        pipeline = EventPipeline(
            db, PipelineStores(rooms, events, state, memberships, search),
            positions=self.positions, notifier=self.notifier, members=members,
            clock=clock, identity=self.identity,
            relations=RelationRecorder(relations, relation_changes),
        )  # fmt: skip
        creator = RoomCreator(
            db, pipeline, self.positions, rooms=rooms, users=users, profiles=profile, clock=clock
        )
        visibility = VisibilityService(db, events, memberships)
        formatter = EventFormatter(
            db, events, rooms, clock,
            bundles=BundledAggregations(db, relations, visibility, memberships, relation_changes),
        )  # fmt: skip
        sections = RoomSections(db, visibility, formatter, members, events=events, state=state)
        return {
            "rooms": creator,
            "membership": MembershipService(
                db, pipeline, creator, rooms=rooms, memberships=memberships, users=users
            ),
            "messages": MessageService(db, pipeline, events=events, state=state, rooms=rooms),
            "reader": RoomReader(
                db, visibility, formatter, self.positions, events=events, state=state, rooms=rooms
            ),
            "aliases": AliasService(db, rooms, state, visibility, clock, self.config.server_name),
            "search": SearchService(
                db,
                SearchStores(search, events, state, memberships),
                visibility,
                formatter,
                self.positions,
            ),
            "relations": RelationsReader(
                db,
                visibility,
                formatter,
                self.positions,
                relations=relations,
                events=events,
                memberships=memberships,
            ),
            "account_data": account_data_service,
            "sync": SyncService(
                db,
                sections,
                self.positions,
                self.notifier,
                stores=SyncStores(events, memberships, account_data),
                encryption=EncryptionStreams(
                    encryption["keys"], encryption["to_device"], encryption["device_lists"]
                ),
                ephemeral=EphemeralStreams(db, typing, receipts),
            ),
            "typing": typing,
            "receipts": ReceiptService(
                db,
                ReceiptStores(receipts, events),
                visibility=visibility,
                account_data=account_data_service,
                members=members,
                positions=self.positions,
                notifier=self.notifier,
                clock=clock,
            ),
        }


def _starlette(lifespan: object = None) -> Starlette:
    return Starlette(
        routes=build_routes(),
        exception_handlers={
            MatrixError: matrix_error,
            HTTPException: http_error,
            ClientDisconnect: client_gone,
            Exception: unexpected_error,
        },
        lifespan=lifespan,  # type: ignore[arg-type]  # None or a lifespan context factory
    )


def _edge(app: ASGIApp, config: Config) -> HttpEdge:
    """The HTTP edge around `app`: media uploads get the media size limit, the rest the JSON one."""
    return HttpEdge(
        app,
        max_body_bytes=config.http.max_request_body_bytes,
        body_limits=upload_body_limits(config.media.max_upload_bytes),
    )


def create_app(runtime: Runtime) -> ASGIApp:
    """The ASGI app serving an already-open runtime (tests and embedding)."""
    app = _starlette()
    app.state.services = runtime.services
    return _edge(app, runtime.config)


def _cli_name() -> str:
    """How to call the `bastion` command that is running now (it may not be on PATH)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "bastion" and shutil.which("bastion") != str(argv0.resolve()):
        return str(argv0)
    return "bastion"


def create_serving_app(config: Config, config_path: Path) -> ASGIApp:
    """The ASGI app for `bastion serve`: its lifespan opens and closes the runtime."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await Runtime.open(config)
        app.state.services = runtime.services
        host, port = config.listen.host, config.listen.port
        log.info(
            "Bastion serving %s on http://%s:%d (database: %s)",
            config.server_name,
            host,
            port,
            runtime.db.dialect,
        )
        if not await runtime.services.accounts.has_active_admin():
            log.warning(
                "No admin account exists yet. Create the first one with:\n"
                "    %s user create NAME --admin --config %s",
                _cli_name(),
                config_path,
            )
        try:
            yield
        finally:
            await runtime.close()

    return _edge(_starlette(lifespan), config)
