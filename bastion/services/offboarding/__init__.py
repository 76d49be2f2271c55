"""Offboarding: the durable, resumable workflow that removes a leaver (docs/governance.md).

`Offboarding.offboard(actor, user_id, *, erase=False) -> OffboardingReport` is the entry point.
"""

from bastion.services.offboarding.report import OffboardingReport
from bastion.services.offboarding.service import Offboarding

__all__ = ["Offboarding", "OffboardingReport"]
