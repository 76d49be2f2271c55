"""Compliance export jobs: scheduled by an admin, run in the background, downloaded when done.

- **Scheduling** (`schedule`) checks the actor (server admin) and the request, then writes the
  job row (`running`) and the `export.create` audit record (with the whole selection) in one
  transaction, and wakes the worker (workers/exports.py). A refusal is audited as failed.
- **Running** (`run_pending`) takes each `running` job in creation order and writes its archive
  to `<root>/<export_id>.zip.partial`, reporting progress on the job row after every batch;
  at the end the file is renamed to `<export_id>.zip` and the row set `done` with its files, in
  that order, so a `done` job always has its complete archive. A job that raises is set
  `failed` with the error (the partial file is removed). A job a stopped process left
  `running` is run again from the start by the next process: the partial file is replaced.
  A job already running in this process is not started twice.
- **Downloading** (`download`) answers the archive's path for a `done` job and writes the
  `export.download` audit record (a refusal is audited as failed).
- The CLI (`export_to_folder`) writes the same files to a folder, at once, audited the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from pathlib import Path
from typing import Any

import msgspec

from bastion.clock import Clock
from bastion.errors import Errcode, MatrixError
from bastion.services.audit.trail import AuditTrail
from bastion.services.export.archive import MANIFEST, Archive, FolderArchive, ZipArchive
from bastion.services.export.request import (
    CONVERSATIONS,
    SUBJECT,
    ExportOptions,
    ExportRequest,
    checked,
    decode_options,
    encode_options,
)
from bastion.services.export.subject import write_subject_files
from bastion.services.export.writer import ExportSummary, ExportWriter, Progress, no_progress
from bastion.services.principal import Principal
from bastion.store.database import Database
from bastion.store.protocols.exports import ExportJobRow, ExportStore

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED = "running", "done", "failed"
ENCRYPTION_NOTE = (
    "These rooms are end-to-end encrypted: the server holds only the metadata of their "
    "messages (sender, time, type, relations, attachments' mxc URIs); the text is exported "
    "as ciphertext (JSONL) or marked as unreadable (CSV, EML)."
)


class ExportStatus(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /exports/{id}`: a job's state."""

    export_id: str
    kind: str
    status: str
    progress: float
    files: list[str]
    error: str | None
    created_ts: int
    updated_ts: int


class ComplianceExports:
    """Export jobs: schedule, run, status, download; and the CLI's direct export."""

    def __init__(
        self, db: Database, store: ExportStore, writer: ExportWriter, audit: AuditTrail,
        clock: Clock, *, root: Path,
    ) -> None:  # fmt: skip
        self._db, self._store, self._writer = db, store, writer
        self._audit, self._clock, self._root = audit, clock, root
        self._running: set[str] = set()
        self.wakeup = asyncio.Event()

    async def schedule(
        self, actor: Principal, request: ExportRequest, *, subject: str | None = None
    ) -> str:
        """Create a job (audited `export.create`); returns its `export_id`."""
        target = subject
        async with self._audit.attempt(actor, "export.create", target):
            actor.require_admin()
            options = ExportOptions(
                kind=SUBJECT if subject else CONVERSATIONS, request=checked(request),
                subject=subject,
            )  # fmt: skip
            if subject is not None and await self._store.subject_profile(self._db, subject) is None:
                raise MatrixError(404, Errcode.NOT_FOUND, f"unknown user {subject}")
            export_id = secrets.token_urlsafe(12)
            now = self._clock.now_ms()
            async with self._db.transaction() as t:
                await self._store.insert_job(t, ExportJobRow(
                    export_id=export_id, kind=options.kind, status=RUNNING,
                    requested_by=actor.audit_id, options=encode_options(options), done_events=0,
                    total_events=0, files="[]", error=None, created_ts=now, updated_ts=now,
                ))  # fmt: skip
                await self._audit.record(t, actor, "export.create", export_id, _details(options))
        self.wakeup.set()
        return export_id

    async def status(self, actor: Principal, export_id: str) -> ExportStatus:
        """A job's status, progress and files (server admins)."""
        actor.require_admin()
        job = await self._job(export_id)
        progress = 1.0 if job.status == DONE else _fraction(job.done_events, job.total_events)
        return ExportStatus(
            export_id=job.export_id, kind=job.kind, status=job.status, progress=progress,
            files=json.loads(job.files), error=job.error, created_ts=job.created_ts,
            updated_ts=job.updated_ts,
        )  # fmt: skip

    async def download(self, actor: Principal, export_id: str) -> Path:
        """The archive of a finished job (audited `export.download`)."""
        async with self._audit.attempt(actor, "export.download", export_id):
            actor.require_admin()
            job = await self._job(export_id)
            path = self.archive_path(export_id)
            if job.status != DONE:
                raise MatrixError(409, Errcode.UNKNOWN, f"export {export_id} is {job.status}")
            if not path.is_file():
                raise MatrixError(404, Errcode.NOT_FOUND, f"the archive of {export_id} is gone")
            await self._audit.record_alone(
                actor, "export.download", export_id, {"bytes": path.stat().st_size}
            )
        return path

    def archive_path(self, export_id: str) -> Path:
        return self._root / f"{export_id}.zip"

    async def run_pending(self) -> int:
        """Run every `running` job not already running here; returns how many ran."""
        self.wakeup.clear()
        ran = 0
        for job in await self._store.running_jobs(self._db):
            if job.export_id not in self._running:
                await self._run(job)
                ran += 1
        return ran

    async def _run(self, job: ExportJobRow) -> None:
        export_id, options = job.export_id, decode_options(job.options)
        self._running.add(export_id)
        partial = self._root / f"{export_id}.zip.partial"
        try:
            archive = await asyncio.to_thread(ZipArchive, partial)

            async def progress(done: int, total: int) -> None:
                now = self._clock.now_ms()
                await self._store.set_progress(self._db, export_id, done, total, now)

            files = await self._write(archive, export_id, options, progress)
            partial.replace(self.archive_path(export_id))
            await self._finish(export_id, DONE, files, None)
        except Exception as exc:
            log.exception("export %s failed", export_id)
            with contextlib.suppress(OSError):  # the failure may be the folder itself
                partial.unlink(missing_ok=True)
            await self._finish(export_id, FAILED, [], f"{type(exc).__name__}: {exc}")
        finally:
            self._running.discard(export_id)

    async def _finish(
        self, export_id: str, status: str, files: list[str], error: str | None
    ) -> None:
        await self._store.finish_job(
            self._db, export_id, status=status, files=json.dumps(files), error=error,
            now_ms=self._clock.now_ms(),
        )  # fmt: skip

    async def export_to_folder(
        self, actor: Principal, request: ExportRequest, folder: Path,
        progress: Progress = no_progress,
    ) -> list[str]:  # fmt: skip
        """Write an export to `folder` now (the CLI); returns its top-level files."""
        export_id = f"cli-{secrets.token_urlsafe(9)}"
        async with self._audit.attempt(actor, "export.create", None):
            actor.require_admin()
            options = ExportOptions(kind=CONVERSATIONS, request=checked(request))
            archive = FolderArchive(folder)
            await self._audit.record_alone(
                actor, "export.create", export_id, {**_details(options), "folder": str(folder)}
            )
        return await self._write(archive, export_id, options, progress)

    async def _write(
        self, archive: Archive, export_id: str, options: ExportOptions, progress: Progress
    ) -> list[str]:
        try:
            subject_files: list[str] = []
            if options.subject is not None:
                subject_files = await write_subject_files(
                    archive, self._db, self._store, options.subject
                )
            summary = await self._writer.write(archive, options, progress)
            header = _manifest_header(export_id, options, summary, self._clock.now_ms())
            await asyncio.to_thread(archive.finish, header)
        except BaseException:
            await asyncio.to_thread(archive.abort)
            raise
        return [*(["subject/"] if subject_files else []), *summary.top_level, MANIFEST]

    async def _job(self, export_id: str) -> ExportJobRow:
        job = await self._store.get_job(self._db, export_id)
        if job is None:
            raise MatrixError(404, Errcode.NOT_FOUND, f"unknown export {export_id}")
        return job


def _fraction(done: int, total: int) -> float:
    return round(min(done / total, 1.0), 4) if total else 0.0


def _details(options: ExportOptions) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": options.kind, **msgspec.to_builtins(options.request)}
    if options.subject is not None:
        details["subject"] = options.subject
    return details


def _manifest_header(
    export_id: str, options: ExportOptions, summary: ExportSummary, now_ms: int
) -> dict[str, Any]:
    encrypted = summary.encrypted_rooms
    header: dict[str, Any] = {
        "export_id": export_id,
        "created_ts": now_ms,
        **_details(options),
        "events": summary.events,
        "messages": summary.messages,
        "rooms": sorted(summary.rooms),
        "encrypted_rooms": encrypted,
        "media": {"included": options.request.include_media, "files": summary.media_files,
                  "missing": summary.media_missing},
        "hash": "sha256",
    }  # fmt: skip
    if options.request.format == "eml":  # the messages each inner zip part holds
        header["eml_parts"] = [{"name": n, "messages": c} for n, c in summary.eml_parts]
    if encrypted:
        header["encryption"] = ENCRYPTION_NOTE
    return header
