"""The composition root: the only place that builds stores and services.

Every collaborator is built once, in dependency order, and handed to its users through their
constructors; nothing else in the code base instantiates a concrete store or the bus. Every
in-process cache subscribes here to the invalidations of its data (`_subscribe_caches`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bastion.api.context import ServerInfo, Services
from bastion.app.appservices import (
    AppServiceParts,
    DeliveryParts,
    appservice_delivery,
    appservice_parts,
    appservice_services,
)
from bastion.app.compliance import compliance_services
from bastion.app.directory import directory_services
from bastion.app.dlp import dlp_parts
from bastion.app.exports import export_service
from bastion.app.login import LoginParts, login_services
from bastion.app.media import media_services
from bastion.app.moderation import ModerationParts, moderation_services
from bastion.app.offboarding import OffboardingParts, offboarding_service
from bastion.app.push import PushParts, push_services
from bastion.app.redis_wiring import SharedState
from bastion.app.registration import registration_services
from bastion.app.room_admin import RoomAdminParts, blocked_rooms_hook, room_admin_services
from bastion.app.room_reads import RoomReadParts, room_reads
from bastion.app.scim import ScimParts, room_entry, scim_service
from bastion.app.sliding_sync import SlidingSyncWiring, sliding_sync_service
from bastion.app.sso import sso_service
from bastion.clock import Clock
from bastion.config import Config, client_base_url
from bastion.events.builder import ServerIdentity
from bastion.pubsub.base import Bus, subscribe_cache
from bastion.pubsub.messages import EventsPersisted
from bastion.pubsub.wakeups import SyncWakeups
from bastion.services.account_data import AccountDataService
from bastion.services.accounts import AccountService, AccountStores
from bastion.services.admin.user_data import AdminUserData
from bastion.services.admin.users import AdminUserService, AdminUserStores
from bastion.services.audit.reader import AuditReader
from bastion.services.audit.room_events import AuditedRoomEvents
from bastion.services.audit.trail import AuditTrail
from bastion.services.auth import AuthService
from bastion.services.console.dashboard import DashboardService, DashboardSources
from bastion.services.console.sessions import ConsoleSessions, ConsoleStores, SignInChecks
from bastion.services.credentials import CredentialChecker
from bastion.services.devices import DeviceCreation, DeviceService
from bastion.services.direct_rooms import DirectRooms
from bastion.services.directory.user_index import UserDirectoryIndex
from bastion.services.e2ee.cross_signing import CrossSigningService
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.e2ee.key_backup import KeyBackupService
from bastion.services.e2ee.keys import KeysService
from bastion.services.e2ee.to_device import ToDeviceService
from bastion.services.ephemeral.receipts import ReadTrackers, ReceiptService, ReceiptStores
from bastion.services.ephemeral.typing import TypingService
from bastion.services.event_hooks import EventHook
from bastion.services.formatting.bundles import BundledAggregations
from bastion.services.formatting.changes import RelationChangeCache
from bastion.services.formatting.formatter import EventFormatter
from bastion.services.ignored_users import IgnoredUsers
from bastion.services.invite_permission import InviteBlocking, InvitePermissions
from bastion.services.legal_hold.keeper import HeldOriginalKeeper
from bastion.services.media.references import MediaReferenceRecorder
from bastion.services.members_cache import MEMBERS_CACHE, RoomMembersCache
from bastion.services.notices import (
    NoticeRoomGuard,
    NoticeStores,
    ServerNotices,
    notices_user_id,
)
from bastion.services.openid import OpenIdService
from bastion.services.passwords import Passwords
from bastion.services.policy.enforcement import PolicyEnforcement
from bastion.services.policy.service import POLICY_CACHE, PolicyService
from bastion.services.presence.service import PresenceService, PresenceStores
from bastion.services.profile import ProfileService
from bastion.services.push.delivery.wakeup import PushWakeups
from bastion.services.push.notifications import NotificationService
from bastion.services.push.recorder import PushActionRecorder
from bastion.services.push.rules import PushRuleService
from bastion.services.push.rulesets import RULESETS_CACHE, RulesetCache
from bastion.services.recent_events import ROOM_EVENTS_CACHE, RecentRoomEvents, RedactionWatcher
from bastion.services.relations.reading import RelationsReader
from bastion.services.relations.recorder import RelationRecorder
from bastion.services.retention.policy import (
    RETENTION_CACHE,
    RetentionStateWatcher,
    RoomRetention,
)
from bastion.services.rooms.aliases import AliasService
from bastion.services.rooms.create import RoomCreator
from bastion.services.rooms.member_profiles import MemberProfileUpdater
from bastion.services.rooms.membership import MembershipService
from bastion.services.rooms.messages import MessageService
from bastion.services.rooms.pipeline import EventPipeline, PipelineStores
from bastion.services.rooms.promotion import PromotionStores, RoomPromoter
from bastion.services.rooms.restricted_joins import RestrictedJoins
from bastion.services.rooms.upgrade import RoomUpgrader
from bastion.services.rooms.upgrade_settings import UpgradedRoomJoins
from bastion.services.search.indexer import SearchIndexer
from bastion.services.search.service import SearchService, SearchStores
from bastion.services.sliding_sync.room_facts import FactStores, RoomFacts
from bastion.services.sliding_sync.room_results import RoomReaders, RoomResults
from bastion.services.suspensions import SUSPENSIONS_CACHE, SuspendedSenders, Suspensions
from bastion.services.sync.ephemeral import EphemeralStreams
from bastion.services.sync.rooms import RoomSections
from bastion.services.sync.service import (
    EncryptionStreams,
    PushStreams,
    SyncService,
    SyncStores,
)
from bastion.services.tags import TagService
from bastion.services.uia import UiaService
from bastion.services.visibility import ReadStores, VisibilityService
from bastion.services.voip import VoipService
from bastion.store.database import Database
from bastion.store.sql.account_data import SqlAccountDataStore
from bastion.store.sql.admin_users import SqlUserAdminStore
from bastion.store.sql.audit import SqlAuditStore
from bastion.store.sql.console_sessions import SqlConsoleSessionStore, SqlDashboardStore
from bastion.store.sql.devices import SqlDeviceStore
from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.holds import SqlHoldStore
from bastion.store.sql.key_backup import SqlKeyBackupStore
from bastion.store.sql.keys import SqlKeyStore
from bastion.store.sql.media_references import SqlMediaReferenceStore
from bastion.store.sql.memberships import SqlMembershipStore
from bastion.store.sql.openid import SqlOpenIdStore
from bastion.store.sql.policy import SqlPolicyStore
from bastion.store.sql.presence import SqlPresenceStore
from bastion.store.sql.profiles import SqlProfileStore
from bastion.store.sql.push import SqlPushActionStore, SqlPushRuleStore
from bastion.store.sql.pushers import SqlPusherStore
from bastion.store.sql.receipts import SqlReceiptStore
from bastion.store.sql.relations import SqlRelationStore
from bastion.store.sql.retention import retention_store_for
from bastion.store.sql.room_directory import SqlRoomDirectoryStore
from bastion.store.sql.rooms import SqlRoomStore
from bastion.store.sql.search import search_store_for
from bastion.store.sql.server_notices import SqlServerNoticeRoomStore
from bastion.store.sql.sliding_sync_rooms import SqlSlidingRoomStore
from bastion.store.sql.sso import SqlSsoStore
from bastion.store.sql.state import SqlStateStore
from bastion.store.sql.sync_probe import SqlSyncProbeStore
from bastion.store.sql.to_device import SqlToDeviceStore
from bastion.store.sql.uia_sessions import SqlUiaSessionStore
from bastion.store.sql.user_directory import SqlUserDirectoryStore
from bastion.store.sql.users import SqlUserStore
from bastion.store.stream import PositionAllocator


@dataclass
class Wiring:
    """Builds every store and service once, in dependency order."""

    config: Config
    db: Database
    clock: Clock
    positions: PositionAllocator
    bus: Bus
    identity: ServerIdentity
    wakeups: SyncWakeups  # long-polling syncs; already subscribed to the bus
    keys: SqlKeyStore = field(default_factory=SqlKeyStore)
    # Hooks run after the built-in ones (relations, push, search) for every room event: policy
    # such as DLP, and the test hooks of tests/api/test_event_hooks.py.
    event_hooks: Sequence[EventHook] = ()
    shared: SharedState = field(default_factory=SharedState)  # Redis or local: redis_wiring.py
    appservices: AppServiceParts = field(init=False)  # the registration files, read once

    def __post_init__(self) -> None:
        self.appservices = appservice_parts(self.config)

    def services(self) -> Services:
        config, db, clock = self.config, self.db, self.clock
        audit_store = SqlAuditStore()
        audit = AuditTrail(db, audit_store, clock)
        policy = PolicyService(db, SqlPolicyStore(), audit, self.bus, clock)
        subscribe_cache(self.bus, POLICY_CACHE, policy.invalidate)
        users, devices, profiles = SqlUserStore(), SqlDeviceStore(), SqlProfileStore()
        limits = config.rate_limits
        passwords = Passwords(config.auth)
        credentials = CredentialChecker(
            db,
            users,
            passwords,
            clock,
            config.auth,
            self.shared.limiter(clock, limits.failed_login_per_account, "failed_login"),
        )
        device_lists = DeviceListService(db, self.keys, self.positions, self.bus)
        auth = AuthService(
            db,
            devices,
            clock,
            config.auth.token_hmac_key,
            self.shared.account_limits(clock, limits.requests_per_user),
            device_lists=device_lists,
            audit=audit,
        )
        login_ip_limiter = self.shared.limiter(clock, limits.login_per_ip, "login")  # + console
        directory_index = UserDirectoryIndex(SqlUserDirectoryStore())
        accounts = AccountService(
            db, AccountStores(users, devices, profiles, directory_index, self.appservices.registry),
            passwords, clock,
            server_name=config.server_name, password_min_length=config.auth.password_min_length,
            device_lists=device_lists, audit=audit,
        )  # fmt: skip
        sso, login_tokens = sso_service(
            config, db, clock, auth.hash_token, login_ip_limiter, accounts=accounts
        )
        uia = UiaService(db, SqlUiaSessionStore(), credentials, clock, config.server_name, sso=sso)
        registration, shared_secret = registration_services(
            config, self.shared, db, clock, (accounts, auth, uia)
        )
        login, get_login_token = login_services(config, self.shared, LoginParts(
            db, clock, auth, credentials, login_ip_limiter, audit, login_tokens, uia))  # fmt: skip
        console_sessions = ConsoleSessions(
            db, ConsoleStores(SqlConsoleSessionStore(), devices),
            SignInChecks(
                credentials, login_ip_limiter, auth.hash_token, login_tokens,
                password_sign_in=config.console.password_sign_in,
            ),
            device_lists=device_lists, audit=audit, clock=clock,
            server_name=config.server_name,
            idle_timeout_ms=config.console.idle_timeout_seconds * 1000,
        )  # fmt: skip
        info = ServerInfo(
            server_name=config.server_name,
            public_baseurl=client_base_url(config),
            require_auth_for_profile=config.http.require_auth_for_profile,
            allow_access_token_in_query=config.http.allow_access_token_in_query,
            default_room_version=config.rooms.default_version,
            forget_on_leave=config.rooms.forget_on_leave,
            support=config.support.document(),
        )
        encryption = self._encryption_services(devices, uia, device_lists)
        rooms = self._room_services(
            users, profiles, directory_index, encryption, audit,
            enforcement=PolicyEnforcement(
                db, policy, users,
                exempt_creators=frozenset({notices_user_id(config.server_name)}),
            ), policy=policy, accounts=accounts,
        )  # fmt: skip
        accounts.on_created(rooms["notices"])  # the acceptable-use notice to new accounts
        rooms["room_entry"] = room_entry(db, audit, rooms, config.server_name)  # admin joins
        scim = scim_service(ScimParts(
            db, clock, audit, accounts, auth.hash_token, rooms, config.server_name,
            info.public_baseurl,
        ))  # fmt: skip
        rooms["policy_enforcement"].use_groups(scim)  # rooms.creation: group:<scim group id>
        rooms["dlp"].connect(rooms["notices"], notices_user_id(config.server_name), scim)
        admin_stores = AdminUserStores(
            users, SqlUserAdminStore(), devices, profiles, directory_index, SqlSsoStore()
        )
        admin_users = AdminUserService(
            db, admin_stores, accounts=accounts, profile=rooms["profile"],
            credentials=credentials, device_lists=device_lists, clock=clock,
            server_name=config.server_name,
        )  # fmt: skip
        appservices = appservice_services(db, self.appservices, (
            accounts, auth, self.shared.limiter(clock, limits.requests_per_user, "requests"),
        ), rooms.pop("appservice_delivery"))  # fmt: skip
        return Services(
            info=info, auth=auth, login=login, sso=sso, uia=uia, registration=registration,
            appservices=appservices, get_login_token=get_login_token, shared_secret=shared_secret,
            console_sessions=console_sessions,
            accounts=accounts, devices=DeviceService(db, devices, uia, device_lists, audit,
                creation=DeviceCreation(clock, self.appservices.registry, login_ip_limiter)),
            **rooms,
            scim=scim,
            admin_users=admin_users,
            console_dashboard=DashboardService(db, DashboardSources(
                admin_users, rooms["room_admin"], rooms["reports"], SqlDashboardStore(),
                audit_store,
            ), clock),
            admin_user_data=AdminUserData(
                db, (users, admin_stores.admin, devices, SqlPusherStore(), SqlAccountDataStore()),
                audit=audit, device_lists=device_lists, clock=clock,
            ),
            **encryption, **media_services(config, db, clock, (audit, users)),
            voip=VoipService(config.voip, clock),
            openid=OpenIdService(db, SqlOpenIdStore(), clock, auth.hash_token, config.server_name),
            audit=audit, audit_log=AuditReader(db, audit_store), policy=policy,
            exports=export_service(config, db, audit, clock),
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
                self.bus,
                clock=self.clock,
                server_name=name,
            ),
            "key_backup": KeyBackupService(db, SqlKeyBackupStore()),
            "device_lists": device_lists,
        }

    def _room_services(
        self,
        users: SqlUserStore,
        profiles: SqlProfileStore,
        directory_index: UserDirectoryIndex,
        encryption: dict[str, Any],
        audit: AuditTrail,
        *,
        enforcement: PolicyEnforcement,
        policy: PolicyService,
        accounts: AccountService,
    ) -> dict[str, Any]:
        db, clock = self.db, self.clock
        rooms = SqlRoomStore(row_locks=db.dialect == "postgres")  # lock_room: FOR UPDATE
        events, state = SqlEventStore(), SqlStateStore()
        memberships, account_data = SqlMembershipStore(), SqlAccountDataStore()
        members = RoomMembersCache(db, memberships)
        ignored = IgnoredUsers(db, account_data)
        invites = InvitePermissions(
            db, account_data, frozenset([notices_user_id(self.config.server_name)])
        )
        account_data_service = AccountDataService(
            db, account_data, self.positions, self.bus, kinds=[ignored, invites]
        )
        push_rules = PushRuleService(db, SqlPushRuleStore(), self.bus, account_data_service)
        tags = TagService(db, account_data, account_data_service)
        room_directory = SqlRoomDirectoryStore()
        typing = TypingService(members, self.bus, clock, self.shared.typing_serials)
        typing.listen_to(self.bus)
        receipts = SqlReceiptStore()
        relations = SqlRelationStore()
        search = search_store_for(db.dialect)
        relation_changes = RelationChangeCache(floor=self.positions.persisted_upto())
        relation_changes.listen_to(self.bus, self.positions.current)
        rulesets = RulesetCache(SqlPushRuleStore())
        push_actions = SqlPushActionStore(combined_writes=db.dialect == "postgres")
        presence = PresenceService(
            db, PresenceStores(SqlPresenceStore(), users), positions=self.positions,
            bus=self.bus, clock=clock, config=self.config.presence,
            shared=self.shared.redis is not None,  # other processes write presence too
        )  # fmt: skip
        push_wakeups = PushWakeups()  # woken by room events on the bus, after commit
        self._subscribe_caches(members, rulesets, (ignored, invites), push_wakeups)
        retention = RoomRetention(db, retention_store_for(db.dialect), policy, clock)
        recent = RecentRoomEvents(db, events, clock)  # /sync windows, shared (recent_events.py)
        subscribe_cache(self.bus, ROOM_EVENTS_CACHE, recent.drop_room, recent.clear)
        holds = SqlHoldStore()
        dlp = dlp_parts(db, clock, policy, audit)  # data-leak prevention: hook + admin service
        subscribe_cache(self.bus, RETENTION_CACHE, retention.invalidate)
        suspensions = Suspensions(db, users, self.bus, audit)  # the pipeline's first check
        restricted = RestrictedJoins(db, state, memberships, self.config.server_name)
        subscribe_cache(self.bus, SUSPENSIONS_CACHE, suspensions.invalidate)
        pipeline = EventPipeline(
            db, PipelineStores(rooms, events, state, memberships),
            positions=self.positions, bus=self.bus,
            members=members, clock=clock, identity=self.identity,
            hooks=[  # relations first: a refused duplicate reaction costs no push evaluation
                SuspendedSenders(db, suspensions, events, SqlServerNoticeRoomStore()),
                RelationRecorder(relations, relation_changes, self.bus),
                PushActionRecorder(
                    rulesets, push_actions, members, ignored, relations=relations, state=state
                ),
                SearchIndexer(search),
                AuditedRoomEvents(audit),
                enforcement,
                NoticeRoomGuard(db, notice_stores := NoticeStores(
                    SqlServerNoticeRoomStore(), memberships, users
                )),
                blocked_rooms_hook(db),
                RetentionStateWatcher(retention, self.bus),
                RedactionWatcher(recent, self.bus),
                HeldOriginalKeeper(holds, clock),
                MediaReferenceRecorder(SqlMediaReferenceStore(), self.config.server_name),
                dlp.hook, InviteBlocking(invites), restricted,
                UpgradedRoomJoins([push_rules, tags, DirectRooms(
                    db, account_data, account_data_service)], self.config.server_name),
                *self.event_hooks,
            ],
            forget_on_leave=self.config.rooms.forget_on_leave,
        )  # fmt: skip
        # The profile service tells the rooms of a change, and room creation reads profiles.
        member_profiles = MemberProfileUpdater(
            db, pipeline, profiles=profiles, memberships=memberships, events=events
        )
        profile = ProfileService(
            db, users, profiles, directory_index, members=member_profiles, suspensions=suspensions
        )
        creator = RoomCreator(
            db, pipeline, rooms=(rooms, room_directory), users=users, profiles=profile,
            clock=clock, policy=enforcement, reserved=self.appservices.namespaces,
        )  # fmt: skip
        visibility = VisibilityService(
            db, ReadStores(events, state, memberships, search, relations), ignored,
            retention=retention, recent=recent, invites=invites,
        )  # fmt: skip
        formatter = EventFormatter(
            db, events, rooms, clock,
            bundles=BundledAggregations(db, visibility, relation_changes),
        )  # fmt: skip
        sections = RoomSections(db, visibility, formatter, members)
        notifications = NotificationService(db, push_actions, visibility, formatter)
        compliance = compliance_services(self.config, db, clock, (retention, holds), audit)
        reads = RoomReadParts(
            db, self.positions, self.wakeups, typing, (visibility, formatter),
            (rooms, account_data, room_directory), audit,
        )  # fmt: skip
        return {
            **compliance,
            "profile": profile,
            "suspensions": suspensions,
            "presence": presence,
            **directory_services(
                self.config,
                db,
                clock,
                room_directory=room_directory,
                rooms=rooms,
                state=state,
                memberships=memberships,
            ),
            "tags": tags,
            "notices": ServerNotices(
                db,
                pipeline,
                notice_stores,
                accounts=accounts,
                tags=tags,
                policy=policy,
                audit=audit,
                clock=clock,
                room_version=self.config.rooms.default_version,
            ),
            "rooms": creator,
            "policy_enforcement": enforcement,
            "dlp": dlp.admin,
            "promoter": (
                promoter := RoomPromoter(
                    db, pipeline, PromotionStores(rooms, state, memberships, users), audit
                )
            ),
            **moderation_services(
                ModerationParts(db, clock, pipeline, visibility, creator, promoter, policy, audit)
            ),
            "offboarding": offboarding_service(
                OffboardingParts(
                    db,
                    clock,
                    self.bus,
                    accounts,
                    pipeline,
                    promoter,
                    policy,
                    member_profiles,
                    directory_index,
                    search,
                    audit,
                    (self.config.media.store_path, self.config.server_name),
                )
            ),
            **room_admin_services(
                RoomAdminParts(
                    db, clock, self.bus, pipeline, creator, audit, self.config.server_name
                )
            ),
            "membership": MembershipService(
                db,
                pipeline,
                creator,
                rooms=rooms,
                memberships=memberships,
                users=users,
                namespaces=self.appservices.namespaces, restricted=restricted,
            ),
            "messages": MessageService(
                db, pipeline, events=events, state=state, rooms=rooms, presence=presence
            ),
            "room_upgrade": RoomUpgrader(
                db,
                pipeline,
                creator,
                (rooms, state, memberships, room_directory),
                audit=audit,
                clock=clock,
                followers=[compliance["legal_holds"]],
            ),
            **room_reads(reads),  # app/room_reads.py: the reader and room previews
            "aliases": AliasService(
                db,
                rooms,
                state,
                visibility,
                clock,
                self.config.server_name,
                reserved=self.appservices.namespaces,
            ),
            "appservice_delivery": appservice_delivery(  # app/appservices.py
                self.config,
                self.appservices,
                (db, clock, self.positions, self.bus),
                DeliveryParts(formatter, members, retention, events, typing, presence),
            ),
            "search": SearchService(
                db,
                SearchStores(memberships),
                visibility,
                formatter,
                self.positions,
            ),
            "relations": RelationsReader(db, visibility, formatter, self.positions),
            "account_data": account_data_service,
            "sync": (
                sync := SyncService(
                    db,
                    sections,
                    self.positions,
                    self.wakeups,
                    stores=SyncStores(
                        events, memberships, account_data, SqlDeviceStore(), SqlSyncProbeStore(),
                        users,
                    ),
                    encryption=EncryptionStreams(
                        encryption["keys"], encryption["to_device"], encryption["device_lists"]
                    ),
                    ephemeral=EphemeralStreams(db, typing, receipts, presence, ignored),
                    push=PushStreams(notifications, push_rules),
                )
            ),
            "push_rules": push_rules,
            **push_services(
                self.config.push,
                db,
                clock,
                self.positions,
                wakeups=push_wakeups,
                notifications=notifications,
                parts=PushParts(events, state, memberships),
            ),
            "notifications": notifications,
            "room_results": (
                room_results := RoomResults(  # sliding sync's rooms
                    RoomReaders(visibility, formatter, sections, members),
                    RoomFacts(db, FactStores(SqlSlidingRoomStore(), memberships), notifications),
                )
            ),
            "sliding_sync": sliding_sync_service(
                SlidingSyncWiring(  # app/sliding_sync.py
                    db,
                    clock,
                    self.positions,
                    self.wakeups,
                    room_results,
                    sync,
                    presence,
                    typing,
                    visibility,
                )
            ),
            "typing": typing,
            "receipts": ReceiptService(
                db, ReceiptStores(receipts, relations), visibility=visibility,
                reads=ReadTrackers(account_data_service, notifications), members=members,
                positions=self.positions, bus=self.bus, clock=clock,
            ),
        }  # fmt: skip

    def _subscribe_caches(
        self,
        members: RoomMembersCache,
        rulesets: RulesetCache,
        readers: tuple[IgnoredUsers, InvitePermissions],
        push_wakeups: PushWakeups,
    ) -> None:
        """Each in-process cache drops an entry when the bus says its data changed."""
        subscribe_cache(self.bus, MEMBERS_CACHE, members.invalidate, members.clear)
        self.shared.find_members_with(members)  # big rooms' events from other processes
        subscribe_cache(self.bus, RULESETS_CACHE, rulesets.invalidate, rulesets.clear)
        for reader in readers:  # account data the read door applies
            subscribe_cache(self.bus, reader.data_type, reader.invalidate, reader.clear)
        self.bus.subscribe(EventsPersisted, push_wakeups.on_persisted)
