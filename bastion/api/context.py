"""What route handlers reach through the request: the services, typed.

`app/wiring.py` builds one `Services`, stored on the Starlette app; handlers call `services_of`.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from bastion.json_types import JsonObject
from bastion.services.account_data import AccountDataService
from bastion.services.accounts import AccountService
from bastion.services.admin.room_blocks import RoomBlocks
from bastion.services.admin.room_deletion import RoomDeletion
from bastion.services.admin.room_export import RoomExport
from bastion.services.admin.room_reading import AdminRoomReading
from bastion.services.admin.room_sizes import RoomSizes
from bastion.services.admin.rooms import RoomAdminService
from bastion.services.admin.scheduled_tasks import ScheduledTasks
from bastion.services.admin.user_data import AdminUserData
from bastion.services.admin.users import AdminUserService
from bastion.services.appservices.service import AppServices
from bastion.services.audit.reader import AuditReader
from bastion.services.audit.trail import AuditTrail
from bastion.services.auth import AuthService
from bastion.services.console.dashboard import DashboardService
from bastion.services.console.sessions import ConsoleSessions
from bastion.services.devices import DeviceService
from bastion.services.directory.hierarchy import SpaceHierarchyService
from bastion.services.directory.mutual_rooms import MutualRoomsService
from bastion.services.directory.rooms import RoomDirectoryService
from bastion.services.directory.summary import RoomSummaryService
from bastion.services.directory.users import UserDirectoryService
from bastion.services.dlp.reviews import DlpAdmin
from bastion.services.e2ee.cross_signing import CrossSigningService
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.e2ee.key_backup import KeyBackupService
from bastion.services.e2ee.keys import KeysService
from bastion.services.e2ee.to_device import ToDeviceService
from bastion.services.ephemeral.receipts import ReceiptService
from bastion.services.ephemeral.typing import TypingService
from bastion.services.export.jobs import ComplianceExports
from bastion.services.legal_hold.holds import LegalHolds
from bastion.services.legal_hold.roles import Roles
from bastion.services.login import LoginService
from bastion.services.login_token_request import LoginTokenRequests
from bastion.services.media.admin import MediaAdmin
from bastion.services.media.previews import UrlPreviews
from bastion.services.media.service import MediaService
from bastion.services.media.thumbnails import ThumbnailService
from bastion.services.media.usage import MediaUsage
from bastion.services.moderation.jobs import RedactionJobRunner
from bastion.services.moderation.redactions import AdminRedactions
from bastion.services.moderation.removals import AdminRemovals
from bastion.services.moderation.reports import ReportService
from bastion.services.notices import ServerNotices
from bastion.services.offboarding import Offboarding
from bastion.services.openid import OpenIdService
from bastion.services.policy.enforcement import PolicyEnforcement
from bastion.services.policy.service import PolicyService
from bastion.services.presence.service import PresenceService
from bastion.services.profile import ProfileService
from bastion.services.push.delivery.worker import PushDelivery
from bastion.services.push.notifications import NotificationService
from bastion.services.push.pushers import PusherService
from bastion.services.push.rules import PushRuleService
from bastion.services.registration import RegistrationService
from bastion.services.relations.reading import RelationsReader
from bastion.services.retention.history_purge import HistoryPurges
from bastion.services.retention.purge import RetentionPurge
from bastion.services.rooms.aliases import AliasService
from bastion.services.rooms.create import RoomCreator
from bastion.services.rooms.membership import MembershipService
from bastion.services.rooms.messages import MessageService
from bastion.services.rooms.peeking import RoomPeeking
from bastion.services.rooms.promotion import RoomPromoter
from bastion.services.rooms.reading import RoomReader
from bastion.services.rooms.room_entry import RoomEntry
from bastion.services.rooms.upgrade import RoomUpgrader
from bastion.services.scim.service import ScimService
from bastion.services.search.service import SearchService
from bastion.services.shared_secret_registration import SharedSecretRegistration
from bastion.services.sliding_sync.room_results import RoomResults
from bastion.services.sliding_sync.service import SlidingSyncService
from bastion.services.sso.flow import SsoService
from bastion.services.suspensions import Suspensions
from bastion.services.sync.service import SyncService
from bastion.services.tags import TagService
from bastion.services.uia import UiaService
from bastion.services.voip import VoipService


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """Facts about this server that endpoints advertise."""

    server_name: str
    public_baseurl: str
    require_auth_for_profile: bool
    allow_access_token_in_query: bool = False
    default_room_version: str = "12"
    forget_on_leave: bool = False  # m.forget_forced_upon_leave
    support: JsonObject | None = None  # /.well-known/matrix/support; None: not configured


@dataclass(frozen=True, slots=True)
class Services:
    """Every service a route may call."""

    info: ServerInfo
    auth: AuthService
    login: LoginService
    get_login_token: LoginTokenRequests  # POST /login/get_token: a signed-in device's token
    sso: SsoService  # single sign-on with OpenID Connect providers (services/sso/)
    console_sessions: ConsoleSessions  # admin console sign-in and sessions (bastion/console/)
    console_dashboard: DashboardService  # the console dashboard's figures
    uia: UiaService
    registration: RegistrationService
    appservices: AppServices  # application services: identity, registration, ping, delivery
    accounts: AccountService
    devices: DeviceService
    profile: ProfileService
    rooms: RoomCreator
    promoter: RoomPromoter  # room admin through a local member with power (make_room_admin)
    room_admin: RoomAdminService  # room lists, details, members, state, inventory (admins)
    room_export: RoomExport  # the inventory as CSV / XLSX
    room_deletion: RoomDeletion  # room deletion jobs (run by workers/room_deletion.py)
    scheduled_tasks: ScheduledTasks  # the background jobs listed, in Synapse's shape
    room_blocks: RoomBlocks  # rooms no local user may join
    room_sizes: RoomSizes  # the largest rooms in the database
    room_entry: RoomEntry  # joins on someone's behalf (an admin's, a SCIM group's)
    shared_secret: SharedSecretRegistration  # Synapse's /_synapse/admin/v1/register
    offboarding: Offboarding  # deactivation: the durable, resumable leaver workflow
    scim: ScimService  # SCIM provisioning: tokens, users, groups, group-linked rooms
    reports: ReportService  # the report queue (services/moderation/)
    redactions: AdminRedactions  # admin removal of messages, as the moderation account
    removals: AdminRemovals  # admin removal of room members, as the moderation account
    redaction_jobs: RedactionJobRunner  # user-redaction jobs (workers/moderation_jobs.py)
    membership: MembershipService
    messages: MessageService
    reader: RoomReader
    admin_room_reading: AdminRoomReading  # an admin reading any room's messages, audited
    peeking: RoomPeeking  # room previews: initialSync and /events of one room
    aliases: AliasService
    search: SearchService
    account_data: AccountDataService
    sync: SyncService
    room_results: RoomResults  # sliding sync: one room's part of a response
    sliding_sync: SlidingSyncService  # MSC4186 sliding sync (both dialects)
    media: MediaService
    media_admin: MediaAdmin  # quarantine and deletion of files (the admin API)
    media_usage: MediaUsage  # how much each person stores
    thumbnails: ThumbnailService
    url_previews: UrlPreviews
    relations: RelationsReader
    typing: TypingService
    receipts: ReceiptService
    keys: KeysService
    cross_signing: CrossSigningService
    to_device: ToDeviceService
    key_backup: KeyBackupService
    device_lists: DeviceListService
    presence: PresenceService
    tags: TagService
    user_directory: UserDirectoryService
    room_directory: RoomDirectoryService
    room_summary: RoomSummaryService
    space_hierarchy: SpaceHierarchyService
    mutual_rooms: MutualRoomsService
    push_rules: PushRuleService
    pushers: PusherService
    push_delivery: PushDelivery  # the background worker, started by the serving app
    notifications: NotificationService
    voip: VoipService
    openid: OpenIdService
    audit: AuditTrail  # writes records, in the action's transaction
    audit_log: AuditReader  # lists, exports and verifies them
    policy: PolicyService
    admin_users: AdminUserService  # accounts as an admin sees and changes them
    admin_user_data: AdminUserData  # devices, sessions, rooms, uploads, pushers of an account
    policy_enforcement: PolicyEnforcement  # the rooms rules, as an event hook (SCIM groups plug in)
    dlp: DlpAdmin  # data-leak prevention: review queue, "try a text" (its hook is in the pipeline)
    notices: ServerNotices  # server notices rooms, the acceptable-use notice
    roles: Roles  # roles granted by admins (`compliance`)
    legal_holds: LegalHolds  # legal holds (services/legal_hold/)
    room_upgrade: RoomUpgrader
    suspensions: Suspensions
    retention_purge: RetentionPurge  # the retention purge (services/retention/)
    history_purges: HistoryPurges  # admins' purges of a room's history (workers/history_purge.py)
    exports: ComplianceExports  # compliance export jobs (services/export/)


def services_of(request: Request) -> Services:
    """The services wired in app/wiring.py."""
    services: Services = request.app.state.services
    return services
