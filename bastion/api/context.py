"""What route handlers reach through the request: the services, typed.

`app/wiring.py` builds one `Services`, stored on the Starlette app; handlers call `services_of`.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from bastion.services.account_data import AccountDataService
from bastion.services.accounts import AccountService
from bastion.services.auth import AuthService
from bastion.services.devices import DeviceService
from bastion.services.directory.rooms import RoomDirectoryService
from bastion.services.directory.summary import RoomSummaryService
from bastion.services.directory.users import UserDirectoryService
from bastion.services.e2ee.cross_signing import CrossSigningService
from bastion.services.e2ee.device_lists import DeviceListService
from bastion.services.e2ee.key_backup import KeyBackupService
from bastion.services.e2ee.keys import KeysService
from bastion.services.e2ee.to_device import ToDeviceService
from bastion.services.ephemeral.receipts import ReceiptService
from bastion.services.ephemeral.typing import TypingService
from bastion.services.login import LoginService
from bastion.services.media.service import MediaService
from bastion.services.media.thumbnails import ThumbnailService
from bastion.services.presence.service import PresenceService
from bastion.services.profile import ProfileService
from bastion.services.push.delivery.worker import PushDelivery
from bastion.services.push.notifications import NotificationService
from bastion.services.push.pushers import PusherService
from bastion.services.push.rules import PushRuleService
from bastion.services.registration import RegistrationService
from bastion.services.relations.reads import RelationsReader
from bastion.services.rooms.aliases import AliasService
from bastion.services.rooms.create import RoomCreator
from bastion.services.rooms.membership import MembershipService
from bastion.services.rooms.messages import MessageService
from bastion.services.rooms.reads import RoomReader
from bastion.services.search.service import SearchService
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


@dataclass(frozen=True, slots=True)
class Services:
    """Every service a route may call."""

    info: ServerInfo
    auth: AuthService
    login: LoginService
    uia: UiaService
    registration: RegistrationService
    accounts: AccountService
    devices: DeviceService
    profile: ProfileService
    rooms: RoomCreator
    membership: MembershipService
    messages: MessageService
    reader: RoomReader
    aliases: AliasService
    search: SearchService
    account_data: AccountDataService
    sync: SyncService
    media: MediaService
    thumbnails: ThumbnailService
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
    push_rules: PushRuleService
    pushers: PusherService
    push_delivery: PushDelivery  # the background worker, started by the serving app
    notifications: NotificationService
    voip: VoipService


def services_of(request: Request) -> Services:
    """The services wired in app/wiring.py."""
    services: Services = request.app.state.services
    return services
