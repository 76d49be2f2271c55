"""Compliance export jobs: selection, held originals, admin-only, audited, durable.

Issue #13 §3: "`POST /_bastion/admin/v1/exports` (a background job with status and progress;
download when done): conversations selected by users, rooms and time range", "the held
original of a redacted event", "the export itself audited", and the Interfaces part:
`GET .../exports/{id}` → `{"status": "running"|"done"|"failed", "progress", "files": [...]}`;
`GET .../exports/{id}/download` → one zip holding the files and `manifest.json`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from bastion import cli
from bastion.config import render_toml
from bastion.store.sql.exports import SqlExportStore
from tests.api.compliance.export_helpers import (
    EXPORTS,
    bodies,
    download,
    export_zip,
    jsonl_records,
    run_jobs,
    start_export,
)
from tests.api.compliance.retention_helpers import DAY_S, place_hold, purge
from tests.conftest import Homeserver


async def _audit(hs: Homeserver) -> list[tuple[str, str | None, str]]:
    rows = await hs.runtime.db.fetch_all(
        "SELECT action, target, outcome FROM audit_log WHERE action LIKE 'export.%' ORDER BY seq"
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def test_selection_by_rooms_users_and_time(hs: Homeserver) -> None:
    """Issue #13 §3: "conversations selected by users, rooms and time range"."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    room = await alice.create_room(preset="public_chat")
    other = await bob.create_room()
    await bob.join(room)
    await alice.send_text(room, "a1")
    hs.clock.advance(60)
    middle = hs.clock.now_ms()
    await bob.send_text(room, "b1")
    await bob.send_text(other, "b-other")
    hs.clock.advance(60)
    end = hs.clock.now_ms()
    await alice.send_text(room, "a2")
    by_room = jsonl_records(await export_zip(hs, root, rooms=[room]))
    assert bodies(by_room) == ["a1", "b1", "a2"]
    assert {r["event"]["room_id"] for r in by_room} == {room}
    by_user = jsonl_records(await export_zip(hs, root, users=[bob.user_id]))
    assert bodies(by_user) == ["b1", "b-other"]  # in any room
    assert {r["event"]["sender"] for r in by_user} == {bob.user_id}
    both = jsonl_records(await export_zip(hs, root, rooms=[room], users=[bob.user_id]))
    assert bodies(both) == ["b1"]
    in_time = jsonl_records(await export_zip(hs, root, rooms=[room], from_ts=middle, to_ts=end))
    assert bodies(in_time) == ["b1"]
    resp = await root.post(EXPORTS, json={"from_ts": end, "to_ts": middle})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_INVALID_PARAM")
    resp = await root.post(EXPORTS, json={"users": ["alice"]})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_INVALID_PARAM")
    resp = await root.post(EXPORTS, json={"format": "pdf"})
    assert (resp.status_code, resp.json()["errcode"]) == (400, "M_BAD_JSON")


async def test_a_redacted_held_message_is_exported_with_its_original(hs: Homeserver) -> None:
    """Issue #13 "What it must show": "a redacted held message is in the export with its
    original text" (from the hold store, after the redacted-originals table was pruned)."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    await place_hold(root, users=[alice.user_id])
    held = await alice.send_text(room, "the held secret")
    resp = await alice.put(f"/rooms/{room}/redact/{held}/r1", json={})
    assert resp.status_code == 200, resp.text
    hs.clock.advance(8 * DAY_S)  # redacted originals are pruned after 7 days ...
    await purge(root)
    # ... except a held one, which the hold store keeps: the export reads it from there
    [record] = [r for r in jsonl_records(await export_zip(hs, root, rooms=[room]))
                if r["event"]["event_id"] == held]  # fmt: skip
    assert record["event"]["content"] == {}
    assert record["original"]["content"]["body"] == "the held secret"
    assert record["original_source"] == "legal_hold"
    assert record["redaction"]["sender"] == alice.user_id


async def test_status_progress_files_download_and_audit(hs: Homeserver) -> None:
    """Interfaces: status `running` then `done` with progress and files; the download is one
    zip holding the files and `manifest.json`; `export.create` and `export.download` are
    audited."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    await alice.send_text(room, "hello")
    export_id = await start_export(root, rooms=[room], format="csv")
    status = (await root.get(f"{EXPORTS}/{export_id}")).json()
    assert (status["status"], status["progress"], status["files"]) == ("running", 0.0, [])
    resp = await root.get(f"{EXPORTS}/{export_id}/download")
    assert resp.status_code == 409  # not done yet
    assert await run_jobs(hs) == 1
    status = (await root.get(f"{EXPORTS}/{export_id}")).json()
    assert status["files"] == ["conversations.csv", "manifest.json"]
    archive = await download(root, export_id)
    assert sorted(archive.namelist()) == ["conversations.csv", "manifest.json"]
    assert (await root.get(f"{EXPORTS}/nope")).status_code == 404
    assert await _audit(hs) == [
        ("export.create", export_id, "success"),
        ("export.download", export_id, "failure"),
        ("export.download", export_id, "success"),
    ]


async def test_non_admins_get_403_on_every_route(hs: Homeserver) -> None:
    """Exports are for server admins: every route answers 403 M_FORBIDDEN to anyone else."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    export_id = await start_export(root, users=[alice.user_id])
    await run_jobs(hs)
    for method, path in (
        ("POST", EXPORTS),
        ("POST", f"/_bastion/admin/v1/users/{alice.user_id}/export"),
        ("GET", f"{EXPORTS}/{export_id}"),
        ("GET", f"{EXPORTS}/{export_id}/download"),
    ):
        if method == "POST":
            resp = await alice.post(path, json={})
        else:
            resp = await alice.get(path)
        assert (resp.status_code, resp.json()["errcode"]) == (403, "M_FORBIDDEN"), path


async def test_a_job_left_running_by_a_stopped_process_is_finished_cleanly(
    hs: Homeserver,
) -> None:
    """A durable job: a process that stopped mid-export left the job `running` and a partial
    file; the next process's worker runs it again and the archive is whole."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    await alice.send_text(room, "kept")
    export_id = await start_export(root, rooms=[room])
    exports = hs.runtime.services.exports
    partial = exports.archive_path(export_id).with_suffix(".zip.partial")
    partial.parent.mkdir(mode=0o700, exist_ok=True)
    partial.write_bytes(b"PK\x03\x04 torn")  # what a killed process left
    await SqlExportStore().set_progress(hs.runtime.db, export_id, 3, 10, hs.clock.now_ms())
    assert await run_jobs(hs) == 1
    assert bodies(jsonl_records(await download(root, export_id))) == ["kept"]
    assert not partial.exists()
    assert oct(exports.archive_path(export_id).stat().st_mode & 0o777) == "0o600"
    assert oct(partial.parent.stat().st_mode & 0o777) == "0o700"


async def test_gdpr_subject_access_export(hs: Homeserver) -> None:
    """Issue #13 §3: "a per-user data export for GDPR (RODO) subject-access requests:
    profile, devices, rooms, their messages, in the same formats"."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    resp = await alice.put(f"/profile/{alice.user_id}/displayname", json={"displayname": "Ala"})
    assert resp.status_code == 200, resp.text
    resp = await alice.put(f"/profile/{alice.user_id}/m.tz", json={"m.tz": "Europe/Warsaw"})
    assert resp.status_code == 200, resp.text
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await alice.send_text(room, "mine")
    await bob.send_text(room, "not mine")
    path = f"/_bastion/admin/v1/users/{alice.user_id}/export"
    export_id = await start_export(root, path, format="jsonl")
    await run_jobs(hs)
    archive = await download(root, export_id)
    profile = json.loads(archive.read("subject/profile.json"))
    assert (profile["user_id"], profile["displayname"]) == (alice.user_id, "Ala")
    assert profile["fields"] == {"m.tz": "Europe/Warsaw"}
    devices = json.loads(archive.read("subject/devices.json"))
    assert [d["device_id"] for d in devices] == [alice.device_id]
    assert json.loads(archive.read("subject/rooms.json")) == [
        {"room_id": room, "membership": "join"}
    ]
    records = jsonl_records(archive)
    assert bodies(records) == ["mine"]
    assert {r["event"]["sender"] for r in records} == {alice.user_id}
    status = (await root.get(f"{EXPORTS}/{export_id}")).json()
    assert (status["kind"], status["files"]) == (
        "subject", ["subject/", "conversations.jsonl", "manifest.json"]
    )  # fmt: skip
    resp = await root.post("/_bastion/admin/v1/users/@nobody:test/export", json={})
    assert (resp.status_code, resp.json()["errcode"]) == (404, "M_NOT_FOUND")


async def test_cli_export_writes_a_folder_with_progress_and_is_audited(
    hs: Homeserver, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Interfaces: "CLI: `bastion export --room ... --user ... --since ... --until ...
    --format ... --out DIR`" (issue #13 §3: "`bastion export` (CLI, with a progress bar)")."""
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    await alice.send_text(room, "مرحبا")
    config = tmp_path / "bastion.toml"
    config.write_text(render_toml(hs.runtime.config))
    out = tmp_path / "out"
    args = ["export", "--room", room, "--since", "2020-01-01", "--format", "csv",
            "--out", str(out), "--config", str(config)]  # fmt: skip
    assert await asyncio.to_thread(cli.main, args) == 0
    captured = capsys.readouterr()
    assert "export: 100%" in captured.err  # not a terminal: plain progress lines
    rows = (out / "conversations.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[1].endswith("no")
    assert "مرحبا" in rows[1]
    manifest = json.loads((out / "manifest.json").read_text())
    [listed] = manifest["files"]
    data = (out / "conversations.csv").read_bytes()
    assert listed == {"name": "conversations.csv", "sha256": hashlib.sha256(data).hexdigest(),
                      "bytes": len(data)}  # fmt: skip
    assert oct(out.stat().st_mode & 0o777) == "0o700"
    assert await asyncio.to_thread(cli.main, args) == 1  # the folder is not empty
    assert "is not empty" in capsys.readouterr().err
    rows_audited = await hs.runtime.db.fetch_all(
        "SELECT actor_kind, outcome FROM audit_log WHERE action = 'export.create' ORDER BY seq"
    )
    assert [(r[0], r[1]) for r in rows_audited] == [
        ("operator", "success"),
        ("operator", "failure"),
    ]


async def test_a_job_that_cannot_write_fails_cleanly(hs: Homeserver) -> None:
    """Interfaces: `"status": "running"|"done"|"failed"`: a job that cannot be written is
    `failed` with the reason, leaves no archive, and is not run again."""
    root = await hs.register_user("root", admin=True)
    exports = hs.runtime.services.exports
    export_id = await start_export(root, users=[root.user_id])
    folder = exports.archive_path(export_id).parent
    folder.write_text("a file where the export folder should be")
    assert await run_jobs(hs) == 1
    status = (await root.get(f"{EXPORTS}/{export_id}")).json()
    assert (status["status"], status["files"]) == ("failed", [])
    assert "NotADirectoryError" in status["error"]
    resp = await root.get(f"{EXPORTS}/{export_id}/download")
    assert resp.status_code == 409
    assert await run_jobs(hs) == 0
