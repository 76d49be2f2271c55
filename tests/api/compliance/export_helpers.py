"""Helpers shared by the compliance export tests: run a job to the end, open its zip."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

from bastion.workers.exports import ExportWorker
from tests.conftest import Homeserver, UserClient

EXPORTS = "/_bastion/admin/v1/exports"


async def start_export(admin: UserClient, path: str = EXPORTS, **body: Any) -> str:
    resp = await admin.post(path, json=body)
    assert resp.status_code == 200, resp.text
    export_id: str = resp.json()["export_id"]
    return export_id


async def run_jobs(hs: Homeserver) -> int:
    """One iteration of the export worker, as `bastion serve` runs it."""
    worker = ExportWorker(hs.runtime.services.exports, hs.clock)
    await worker.run_once()
    return worker.ran


async def download(admin: UserClient, export_id: str) -> zipfile.ZipFile:
    """The finished export's zip, its manifest checked against every file."""
    status = (await admin.get(f"{EXPORTS}/{export_id}")).json()
    assert status["status"] == "done", status
    assert status["progress"] == 1.0
    resp = await admin.get(f"{EXPORTS}/{export_id}/download")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(resp.content))
    assert verified_manifest(archive)["export_id"] == export_id
    return archive


def verified_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    """manifest.json, after checking that it lists every other file with its SHA-256."""
    manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    listed = {entry["name"]: entry for entry in manifest["files"]}
    assert set(listed) == set(archive.namelist()) - {"manifest.json"}
    for name, entry in listed.items():
        data = archive.read(name)
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert len(data) == entry["bytes"]
    return manifest


async def export_zip(hs: Homeserver, admin: UserClient, **body: Any) -> zipfile.ZipFile:
    """Start an export, run it, download it."""
    export_id = await start_export(admin, **body)
    await run_jobs(hs)
    return await download(admin, export_id)


def jsonl_records(archive: zipfile.ZipFile) -> list[dict[str, Any]]:
    return [json.loads(line) for line in archive.read("conversations.jsonl").splitlines()]


def eml_files(archive: zipfile.ZipFile) -> dict[str, bytes]:
    """Every `.eml` file of an EML export, read out of its inner `eml/part-NNNNN.zip` parts
    (each part's message count checked against the manifest's `eml_parts`)."""
    manifest = json.loads(archive.read("manifest.json"))
    files: dict[str, bytes] = {}
    for part in manifest["eml_parts"]:
        with zipfile.ZipFile(io.BytesIO(archive.read(part["name"]))) as inner:
            names = [n for n in inner.namelist() if n.endswith(".eml")]
            assert len(names) == part["messages"], part
            files.update((name, inner.read(name)) for name in names)
    return files


def bodies(records: list[dict[str, Any]]) -> list[str]:
    """The `body` of each m.room.message record, in order."""
    return [
        r["event"]["content"].get("body", "")
        for r in records
        if r["event"]["type"] == "m.room.message"
    ]
