"""Compliance export: the three formats round-trip, attachments, encrypted rooms.

Issue #13 §3: "conversations selected by users, rooms and time range, in JSON Lines (complete
events, edits and redactions with who and when, the held original of a redacted event), CSV
(one row per message, UTF-8 with BOM so Excel opens Arabic correctly), and EML (one RFC 5322
message per chat message ... use the standard library's `email` package), with attachments
included or referenced, a `manifest.json` with the SHA-256 of every file".
"""

from __future__ import annotations

import csv
import email
import hashlib
import io
import json
from email.message import EmailMessage
from email.policy import default

from tests.api.compliance.export_helpers import bodies, eml_files, export_zip, jsonl_records
from tests.api.compliance.retention_helpers import send
from tests.conftest import Homeserver, UserClient

ARABIC = "مرحبا بالعالم"
POLISH = "Zażółć gęślą jaźń"


async def _conversation(hs: Homeserver) -> tuple[UserClient, UserClient, str, list[str]]:
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room(preset="public_chat", name="Zespół / فريق")
    first = await alice.send_text(room, ARABIC)
    reply = await send(alice, room, "m.room.message", {
        "msgtype": "m.text", "body": POLISH,
        "m.relates_to": {"m.in_reply_to": {"event_id": first}},
    })  # fmt: skip
    formula = await alice.send_text(room, '=HYPERLINK("http://evil")')
    return root, alice, room, [first, reply, formula]


async def test_jsonl_holds_complete_events_edits_and_redactions(hs: Homeserver) -> None:
    """Issue #13 §3: "JSON Lines (complete events, edits and redactions with who and when,
    the held original of a redacted event)"."""
    root, alice, room, (first, _reply, _formula) = await _conversation(hs)
    edit = await send(alice, room, "m.room.message", {
        "msgtype": "m.text", "body": "* fixed",
        "m.new_content": {"msgtype": "m.text", "body": "fixed"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": first},
    })  # fmt: skip
    hs.clock.advance(5)
    resp = await root.put(f"/rooms/{room}/redact/{first}/t1", json={"reason": "x"})
    assert resp.status_code == 403  # root is not in the room: alice redacts her own
    resp = await alice.put(f"/rooms/{room}/redact/{first}/t1", json={"reason": "x"})
    redaction = resp.json()["event_id"]
    records = jsonl_records(await export_zip(hs, root, rooms=[room]))
    by_id = {r["event"]["event_id"]: r for r in records}
    assert by_id[edit]["event"]["content"]["m.relates_to"]["rel_type"] == "m.replace"
    assert by_id[edit]["event"]["sender"] == alice.user_id
    redacted = by_id[first]
    assert redacted["event"]["content"] == {}  # as stored: the redacted form
    assert redacted["redaction"]["redacted_by"] == redaction
    assert redacted["redaction"]["sender"] == alice.user_id
    assert (
        redacted["redaction"]["origin_server_ts"] == by_id[redaction]["event"]["origin_server_ts"]
    )
    assert redacted["original"]["content"]["body"] == ARABIC
    assert redacted["original_source"] == "redacted_originals"
    assert by_id[redaction]["event"]["type"] == "m.room.redaction"
    assert "m.room.create" in {r["event"]["type"] for r in records}  # state too: complete
    assert records == sorted(records, key=lambda r: r["event"]["origin_server_ts"])


async def test_csv_has_a_bom_one_row_per_message_and_neutralised_formulas(hs: Homeserver) -> None:
    """Issue #13 §3: "CSV (one row per message, UTF-8 with BOM so Excel opens Arabic
    correctly)"; cells starting with = + - @ are neutralised (CSV injection)."""
    root, alice, room, (first, reply, formula) = await _conversation(hs)
    raw = (await export_zip(hs, root, rooms=[room], format="csv")).read("conversations.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [r["event_id"] for r in rows] == [first, reply, formula]
    assert [r["body"] for r in rows] == [ARABIC, POLISH, '\'=HYPERLINK("http://evil")']
    assert rows[1]["in_reply_to"] == first
    assert rows[0]["sender"] == f"'{alice.user_id}"  # an "@" starts a formula in Excel
    assert rows[0]["room_name"] == "Zespół / فريق"


async def test_eml_is_one_rfc5322_message_per_chat_message(hs: Homeserver) -> None:
    """Issue #13 §3: "EML (one RFC 5322 message per chat message ...; use the standard
    library's `email` package)", Arabic/Polish encoded, threading headers from replies."""
    root, alice, room, (first, reply, _formula) = await _conversation(hs)
    archive = await export_zip(hs, root, rooms=[room], format="eml")
    assert [n for n in archive.namelist() if n.startswith("eml/")] == ["eml/part-00001.zip"]
    files = eml_files(archive)
    names = sorted(files)
    assert len(names) == 3
    mails = [email.message_from_bytes(files[n], policy=default) for n in names]
    assert all(isinstance(m, EmailMessage) for m in mails)
    first_mail, reply_mail = mails[0], mails[1]
    assert isinstance(first_mail, EmailMessage)
    assert isinstance(reply_mail, EmailMessage)
    assert first_mail.get_content().strip() == ARABIC
    assert reply_mail.get_content().strip() == POLISH
    assert first_mail["Subject"] == "Zespół / فريق"
    assert reply_mail["Subject"] == "Re: Zespół / فريق"
    assert reply_mail["In-Reply-To"] == first_mail["Message-ID"]
    assert first_mail["Message-ID"] in reply_mail["References"]
    assert first_mail["From"].addresses[0].addr_spec == f"alice@{hs.server_name}"
    assert first_mail["X-Matrix-Event-ID"] == first
    assert reply_mail["X-Matrix-Event-ID"] == reply
    assert first_mail["X-Matrix-Sender"] == alice.user_id
    raw = files[names[0]]
    assert raw.isascii()  # transfer-encoded: any mail system carries it
    assert b"\r\n" in raw


async def test_attachments_included_or_referenced_by_sha256(hs: Homeserver) -> None:
    """Issue #13 §3: "with attachments included or referenced"."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room()
    data = b"\x89PNG scan of the contract"
    resp = await hs.http.post(
        "/_matrix/media/v3/upload", content=data,
        headers={"Authorization": f"Bearer {alice.token}", "Content-Type": "image/png"},
    )  # fmt: skip
    mxc = resp.json()["content_uri"]
    await send(
        alice, room, "m.room.message", {"msgtype": "m.image", "body": "scan.png", "url": mxc}
    )
    sha = hashlib.sha256(data).hexdigest()
    media_id = mxc.rsplit("/", 1)[1]
    referenced = await export_zip(hs, root, rooms=[room])
    [line] = [r for r in jsonl_records(referenced) if "attachment" in r]
    assert line["attachment"] == {"mxc": mxc, "sha256": sha, "file": None}
    assert not [n for n in referenced.namelist() if n.startswith("media/")]
    included = await export_zip(hs, root, rooms=[room], include_media=True, format="csv")
    assert included.read(f"media/{media_id}") == data
    rows = list(csv.DictReader(io.StringIO(included.read("conversations.csv").decode("utf-8-sig"))))
    [row] = [r for r in rows if r["attachment_mxc"]]
    assert (row["attachment_sha256"], row["attachment_file"]) == (sha, f"media/{media_id}")
    manifest = json.loads(included.read("manifest.json"))
    assert manifest["media"] == {"included": True, "files": 1, "missing": 0}


async def test_encrypted_rooms_export_metadata_and_say_so(hs: Homeserver) -> None:
    """Issue #13 §6: "Exports of encrypted rooms include the metadata and say so"."""
    root = await hs.register_user("root", admin=True)
    alice = await hs.register_user("alice")
    room = await alice.create_room(initial_state=[{
        "type": "m.room.encryption", "state_key": "",
        "content": {"algorithm": "m.megolm.v1.aes-sha2"},
    }])  # fmt: skip
    cipher = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEn", "sender_key": "k",
              "device_id": "D", "session_id": "s"}  # fmt: skip
    event = await send(alice, room, "m.room.encrypted", cipher)
    archive = await export_zip(hs, root, rooms=[room], format="csv")
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["encrypted_rooms"] == [room]
    assert "end-to-end encrypted" in manifest["encryption"]
    rows = list(csv.DictReader(io.StringIO(archive.read("conversations.csv").decode("utf-8-sig"))))
    [row] = rows
    assert (row["event_id"], row["sender"], row["encrypted"]) == (event, f"'{alice.user_id}", "yes")
    assert "cannot read" in row["body"]
    records = jsonl_records(await export_zip(hs, root, rooms=[room]))
    assert bodies(records) == []
    assert {r["event"]["event_id"] for r in records if r.get("room_encrypted")} >= {event}
