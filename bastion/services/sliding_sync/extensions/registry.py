"""The extensions this server offers, built from the services /sync already uses.

`build_extensions` is called once by the wiring (app/sliding_sync.py); the connection code
calls each one the client enabled. An extension a client names that is not here is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.services.sliding_sync.extensions.account_data import AccountDataExtension
from bastion.services.sliding_sync.extensions.base import Extension
from bastion.services.sliding_sync.extensions.e2ee import E2eeExtension
from bastion.services.sliding_sync.extensions.receipts import ReceiptsExtension
from bastion.services.sliding_sync.extensions.to_device import ToDeviceExtension
from bastion.services.sliding_sync.extensions.typing import TypingExtension
from bastion.services.sync.ephemeral import EphemeralStreams
from bastion.services.sync.service import EncryptionStreams, PushStreams
from bastion.store.database import Database
from bastion.store.protocols import AccountDataStore, MembershipStore


@dataclass(frozen=True, slots=True)
class ExtensionParts:
    """What the extensions read: /sync's streams (the same objects /sync is given: see
    `SyncService.encryption`, `.ephemeral`, `.push`), the account data and membership stores."""

    db: Database
    encryption: EncryptionStreams
    ephemeral: EphemeralStreams
    push: PushStreams
    account_data: AccountDataStore
    memberships: MembershipStore


def build_extensions(parts: ExtensionParts) -> tuple[Extension, ...]:
    """One of each extension, in the order a response lists them."""
    return (
        ToDeviceExtension(parts.db, parts.encryption.to_device),
        E2eeExtension(parts.encryption.keys, parts.encryption.device_lists),
        AccountDataExtension(parts.db, parts.account_data, parts.push),
        ReceiptsExtension(parts.ephemeral, parts.memberships),
        TypingExtension(parts.ephemeral, parts.memberships),
    )
