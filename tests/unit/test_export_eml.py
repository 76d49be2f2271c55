"""EML and CSV cells from hostile input: the export's pure formatting (services/export/).

RFC 5322 §2.2: header field bodies are lines ("A field body MUST NOT include CR and LF except
when used in folding"), so a room name or body with line breaks must not add headers; and
issue #13's CSV: cells starting with = + - @ are neutralised.
"""

from __future__ import annotations

import email
import json
from email.message import EmailMessage
from email.policy import default

from bastion.services.export.eml import eml_bytes, message_id
from bastion.services.export.message import read_message
from bastion.services.export.rows import Context, neutralised
from bastion.store.protocols.exports import ExportedEvent, RoomFacts


def _stored(sender: str, content: dict[str, object]) -> ExportedEvent:
    pdu = {"type": "m.room.message", "sender": sender, "content": content,
           "origin_server_ts": 1_700_000_000_000}  # fmt: skip
    return ExportedEvent(
        stream_ordering=7, event_id="$abc-DEF_123", room_id="!r:example.org", sender=sender,
        origin_server_ts=1_700_000_000_000, pdu=json.dumps(pdu), redacted_by=None,
        redaction_sender=None, redaction_ts=None, original_pdu=None, original_held=False,
    )  # fmt: skip


def test_line_breaks_in_names_never_become_headers() -> None:
    room = RoomFacts(room_id="!r:example.org", room_version="12", encrypted=False,
                     name="Team\r\nBcc: victim@example.com")  # fmt: skip
    stored = _stored("@..odd=/+name:example.org:8448", {"msgtype": "m.text", "body": "hi\r\n."})
    raw = eml_bytes(read_message(stored), Context(room), "example.org:8448")
    mail = email.message_from_bytes(raw, policy=default)
    assert isinstance(mail, EmailMessage)
    assert mail["Bcc"] is None
    assert mail["Subject"] == "Team Bcc: victim@example.com"
    assert mail["From"].addresses[0].domain == "example.org"
    assert mail["Message-ID"] == message_id("$abc-DEF_123", "example.org") == (
        "<abc-DEF_123@example.org>"
    )  # fmt: skip


def test_formula_starts_are_neutralised() -> None:
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralised(cell) == "'" + cell
    assert neutralised("plain = text") == "plain = text"
