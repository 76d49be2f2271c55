"""What an offboarding did: the report returned to the caller, stored with its job as it grows.

The report is built up by the job as each piece commits (it is saved in the same transaction as
the piece of work it describes), so a resumed job carries on with what the first run did.
"""

from __future__ import annotations

import msgspec

RUNNING = "running"
DONE = "done"


class OffboardingReport(msgspec.Struct, kw_only=True):
    """The outcome of one offboarding job (also the details of its `user.offboard` record)."""

    job_id: str
    user_id: str
    status: str = RUNNING  # RUNNING | DONE
    step: str = "revoke"  # the next step to run (`done` when finished)
    erase: bool = False
    sessions_revoked: int = 0
    pushers_removed: int = 0
    successors_promoted: dict[str, str] = msgspec.field(default_factory=dict)
    successors_pending: dict[str, str] = msgspec.field(default_factory=dict)  # being promoted
    rooms_without_successor: list[str] = msgspec.field(default_factory=list)
    rooms_left: list[str] = msgspec.field(default_factory=list)
    invites_rejected: list[str] = msgspec.field(default_factory=list)
    knocks_withdrawn: list[str] = msgspec.field(default_factory=list)
    rooms_unpublished: list[str] = msgspec.field(default_factory=list)
    profile_cleared: bool = False
    events_redacted: int = 0
    events_held: int = 0
    files_deleted: int = 0  # uploads erased (step `files`)
    files_kept: int = 0  # uploads an event still names (a room avatar, a held or forwarded message)


def encode_report(report: OffboardingReport) -> str:
    """The JSON stored in the job's row."""
    return msgspec.json.encode(report).decode()


def decode_report(raw: str) -> OffboardingReport:
    """A stored report."""
    return msgspec.json.decode(raw, type=OffboardingReport)


def report_fields(report: OffboardingReport) -> dict[str, object]:
    """The report as plain JSON values (API answers, audit details)."""
    fields: dict[str, object] = msgspec.to_builtins(report)
    return fields
