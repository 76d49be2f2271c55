"""Compliance export, EML: the downloaded zip's entries do not grow with the number of messages.

Issue #13 §3: "An export streams: its memory does not grow with its size." zipfile keeps a
central-directory record in memory per entry until the zip closes, so an EML export must not
write one outer entry per message: its messages go into inner zip parts of at most N messages
(N small here, through the writer's parameter; 5,000 in service).
"""

from __future__ import annotations

import email
import io
import json
import zipfile
from email.policy import default
from pathlib import Path

from bastion.services.export.archive import ZipArchive
from bastion.services.export.request import CONVERSATIONS, ExportOptions, ExportRequest
from bastion.services.export.writer import ExportSources, ExportWriter
from bastion.services.media.storage import LocalDirectoryStorage
from bastion.store.sql.exports import SqlExportStore
from tests.api.compliance.export_helpers import verified_manifest
from tests.conftest import Homeserver

PART_SIZE = 4


async def _eml_export(hs: Homeserver, room: str, path: Path) -> zipfile.ZipFile:
    runtime = hs.runtime
    media = LocalDirectoryStorage(Path(runtime.config.media.store_path))
    sources = ExportSources(runtime.db, SqlExportStore(), media, hs.server_name)
    writer = ExportWriter(sources, batch_size=5, eml_part_size=PART_SIZE)
    options = ExportOptions(kind=CONVERSATIONS, request=ExportRequest(rooms=[room], format="eml"))
    archive = ZipArchive(path)
    summary = await writer.write(archive, options)
    archive.finish({"eml_parts": [{"name": n, "messages": c} for n, c in summary.eml_parts]})
    return zipfile.ZipFile(path)


async def test_outer_zip_entries_do_not_grow_with_the_messages(
    hs: Homeserver, tmp_path: Path
) -> None:
    """Issue #13 §3: "An export streams: its memory does not grow with its size": 12 messages
    with parts of 4 are 3 outer entries (plus the manifest), each message still one RFC 5322
    message, every part listed in the manifest with its SHA-256 and message count."""
    alice = await hs.register_user("alice")
    room = await alice.create_room(name="Zespół")
    sent = [await alice.send_text(room, f"wiadomość {i}") for i in range(12)]
    archive = await _eml_export(hs, room, tmp_path / "twelve.zip")
    parts = ["eml/part-00001.zip", "eml/part-00002.zip", "eml/part-00003.zip"]
    assert sorted(archive.namelist()) == [*parts, "manifest.json"]
    manifest = verified_manifest(archive)  # every part's SHA-256 and size
    assert manifest["eml_parts"] == [{"name": n, "messages": PART_SIZE} for n in parts]
    event_ids = []
    for name in parts:
        with zipfile.ZipFile(io.BytesIO(archive.read(name))) as part:
            assert len(part.namelist()) == PART_SIZE
            for inner in sorted(part.namelist()):
                mail = email.message_from_bytes(part.read(inner), policy=default)
                event_ids.append(mail["X-Matrix-Event-ID"])
    assert event_ids == sent

    other = await alice.create_room(name="small")
    await alice.send_text(other, "one")
    small = await _eml_export(hs, other, tmp_path / "one.zip")
    assert sorted(small.namelist()) == ["eml/part-00001.zip", "manifest.json"]
    assert json.loads(small.read("manifest.json"))["eml_parts"][0]["messages"] == 1
