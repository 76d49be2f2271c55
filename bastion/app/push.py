"""Wiring of pushers and push delivery (services/push/), called by wiring.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bastion.clock import Clock
from bastion.config import PushConfig
from bastion.services.push.delivery.gateway import GatewayClient
from bastion.services.push.delivery.wakeup import PushWakeups
from bastion.services.push.delivery.worker import DeliveryStores, PushDelivery
from bastion.services.push.gateways import GatewayPolicy
from bastion.services.push.notifications import NotificationService
from bastion.services.push.pushers import PusherService
from bastion.store.database import Database
from bastion.store.sql.events import SqlEventStore
from bastion.store.sql.memberships import SqlMembershipStore
from bastion.store.sql.pushers import SqlPusherStore
from bastion.store.sql.state import SqlStateStore
from bastion.store.stream import PositionAllocator


@dataclass(frozen=True, slots=True)
class PushParts:
    """What push delivery reads: the room stores the rest of the wiring already built."""

    events: SqlEventStore
    state: SqlStateStore
    memberships: SqlMembershipStore


def push_services(
    config: PushConfig,
    db: Database,
    clock: Clock,
    positions: PositionAllocator,
    *,
    wakeups: PushWakeups,
    notifications: NotificationService,
    parts: PushParts,
) -> dict[str, Any]:
    """Pushers and their delivery worker (started by the serving app's lifespan)."""
    store = SqlPusherStore()
    policy = GatewayPolicy(config.allowed_gateway_urls)
    delivery = PushDelivery(
        db, DeliveryStores(store, parts.events, parts.state, parts.memberships),
        GatewayClient(policy, config.request_timeout_seconds), wakeups,
        positions=positions, notifications=notifications, clock=clock,
        give_up_after_ms=config.give_up_after_seconds * 1000,
    )  # fmt: skip
    pushers = PusherService(db, store, policy, positions, clock, wakeups)
    return {"pushers": pushers, "push_delivery": delivery}
