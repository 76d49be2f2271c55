"""The `dlp` section compiled for evaluation, and what it finds in a text.

`compile_section` builds every detector once; `DlpEngine.compiled()` keeps the result for the
policy document in force (the PolicyService cache returns the same document object until a new
version commits, so identity is the cache key) and rebuilds it when the document changes.

Scope: `rooms` narrows where, `users` and `groups` narrow who. A policy applies to an event when
its room is listed (or no room is), and its sender is listed or in a listed SCIM group (or
neither users nor groups are listed). An empty scope is everywhere. With no group directory
wired, a group-scoped policy applies to everyone (DLP fails closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bastion.services.dlp.content import TextField
from bastion.services.dlp.detectors import Detector, detector_for
from bastion.services.dlp.text import Finding
from bastion.services.policy.dlp_section import DlpAction, DlpScope, DlpSection
from bastion.services.policy.enforcement import GroupMembership
from bastion.services.policy.service import PolicyService

MAX_TEXT = 65_536  # characters of one field looked at (a PDU is at most 64 KiB anyway)


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """One policy, its detectors built."""

    name: str
    action: DlpAction
    scope: DlpScope
    detectors: tuple[Detector, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """A policy's detector found `finding` in `field` (`body`, `m.new_content.body`, ...)."""

    policy: CompiledPolicy
    field: TextField
    finding: Finding


def compile_section(section: DlpSection) -> tuple[CompiledPolicy, ...]:
    """Every policy of the section, compiled."""
    return tuple(
        CompiledPolicy(
            policy.name,
            policy.action,
            policy.scope,
            tuple(detector_for(spec, section.phone_regions) for spec in policy.detectors),
        )
        for policy in section.policies
    )


def find(policies: Sequence[CompiledPolicy], fields: Sequence[TextField]) -> list[Hit]:
    """What `policies` find in `fields`, in policy and field order."""
    hits: list[Hit] = []
    for policy in policies:
        for field in fields:
            bounded = field.text[:MAX_TEXT]
            for detector in policy.detectors:
                hits.extend(Hit(policy, field, finding) for finding in detector(bounded))
    return hits


class DlpEngine:
    """The compiled policies in force, and who they apply to."""

    def __init__(self, policy: PolicyService, groups: GroupMembership | None = None) -> None:
        self._policy = policy
        self._groups = groups
        self._compiled: tuple[object, tuple[CompiledPolicy, ...]] | None = None

    def use_groups(self, groups: GroupMembership) -> None:
        """Wire the SCIM group directory (built after the room services)."""
        self._groups = groups

    async def compiled(self) -> tuple[CompiledPolicy, ...]:
        """The policies of the document in force, compiled (once per document)."""
        document = await self._policy.current()
        cached = self._compiled
        if cached is not None and cached[0] is document:
            return cached[1]
        compiled = compile_section(document.dlp)
        self._compiled = (document, compiled)
        return compiled

    async def language(self) -> str:
        """The language refusals are written in (`dlp.language`)."""
        return (await self._policy.current()).dlp.language

    async def phone_regions(self) -> list[str]:
        """The regions whose national phone formats the `phone` detector reads."""
        return (await self._policy.current()).dlp.phone_regions

    async def applicable(
        self, policies: Sequence[CompiledPolicy], room_id: str | None, sender: str
    ) -> list[CompiledPolicy]:
        """Those of `policies` whose scope covers `sender` in `room_id`."""
        return [p for p in policies if await self._covers(p.scope, room_id, sender)]

    async def _covers(self, scope: DlpScope, room_id: str | None, sender: str) -> bool:
        if scope.rooms and room_id not in scope.rooms:
            return False
        if not scope.users and not scope.groups:
            return True
        if sender in scope.users:
            return True
        if scope.groups and self._groups is None:
            return True
        for group_id in scope.groups:
            if self._groups is not None and await self._groups.is_member(group_id, sender):
                return True
        return False
