"""EML: one RFC 5322 message per chat message, built with the standard library's `email`.

Pure. The shape archivers (Global Relay and the like) ingest:
- `From`: the sender, as an address made from the user ID (`@alice:example.org` →
  `alice@example.org`, the user ID as display name); `To`: an empty group named after the room
  (RFC 5322 §3.4 group syntax: a conversation has no single recipient).
- `Subject`: the room's name (or ID), `Re: ` for replies and thread messages; `Date` from
  `origin_server_ts`; `Message-ID` from the event ID, so `In-Reply-To` and `References`
  (the replied-to event, the thread root) thread the conversation as a mail client would.
- The body is text/plain (with the HTML `formatted_body` as an alternative when sent), UTF-8,
  base64 unless ASCII; `email.policy.SMTP` RFC 2047-encodes non-ASCII headers, so
  Arabic and Polish survive any mail system. CRLF line ends.
- `X-Matrix-*` headers keep the Matrix facts (event, room, sender, redaction, attachment's mxc
  URI and SHA-256); header values never carry a line break (they are folded to spaces).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.headerregistry import Address, Group
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from bastion.services.export.message import Message, iso_utc
from bastion.services.export.rows import ENCRYPTED_NOTE, Context

_NOT_ID_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def message_id(event_id: str, server_name: str) -> str:
    """`<event-id-without-sigil@server>`: a valid msg-id for any event ID."""
    left = _NOT_ID_SAFE.sub("_", event_id.lstrip("$")) or "event"
    return f"<{left}@{_domain(server_name)}>"


def _domain(server_name: str) -> str:
    host = server_name.rsplit(":", 1)[0] if server_name.count(":") == 1 else server_name
    return _NOT_ID_SAFE.sub("-", host.strip("[]")) or "localhost"


def _header(value: str) -> str:
    return _LINE_BREAKS.sub(" ", value)


def _sender(user_id: str) -> Address:
    localpart, _, server = user_id.removeprefix("@").partition(":")
    safe_local = re.sub(r"[^A-Za-z0-9_.=+/\-]", "_", localpart).strip(".") or "user"
    safe_local = re.sub(r"\.{2,}", ".", safe_local)
    return Address(display_name=user_id, username=safe_local, domain=_domain(server))


def eml_bytes(message: Message, context: Context, server_name: str) -> bytes:
    """The RFC 5322 message (CRLF line ends) for one chat message."""
    stored = message.stored
    mail = EmailMessage(policy=SMTP)
    room_title = _header(context.room.name or stored.room_id)
    reply_to, thread_root = message.in_reply_to, message.related("m.thread")
    mail["From"] = _sender(stored.sender)
    mail["To"] = Group(display_name=room_title)
    mail["Subject"] = f"Re: {room_title}" if reply_to or thread_root else room_title
    mail["Date"] = format_datetime(datetime.fromtimestamp(stored.origin_server_ts / 1000, UTC))
    mail["Message-ID"] = message_id(stored.event_id, server_name)
    references = [message_id(e, server_name) for e in (thread_root, reply_to) if e]
    if reply_to:
        mail["In-Reply-To"] = message_id(reply_to, server_name)
    if references:
        mail["References"] = " ".join(dict.fromkeys(references))
    for name, value in _matrix_headers(message, context):
        mail[name] = _header(value)
    body = _body(message)
    mail.set_content(body, charset="utf-8", cte=_transfer_encoding(body))
    html = message.text("formatted_body")
    if html and message.text("format") == "org.matrix.custom.html":
        mail.add_alternative(html, subtype="html", charset="utf-8", cte=_transfer_encoding(html))
    return mail.as_bytes()


def _transfer_encoding(text: str) -> str:
    """7bit for ASCII text, else base64: 7-bit clean for any mail system, compact for Arabic."""
    return "7bit" if text.isascii() else "base64"


def _matrix_headers(message: Message, context: Context) -> list[tuple[str, str]]:
    stored = message.stored
    headers = [
        ("X-Matrix-Event-ID", stored.event_id),
        ("X-Matrix-Room-ID", stored.room_id),
        ("X-Matrix-Sender", stored.sender),
        ("X-Matrix-Type", message.type),
    ]
    if edit_of := message.related("m.replace"):
        headers.append(("X-Matrix-Edit-Of", edit_of))
    if stored.redacted_by is not None:
        who = stored.redaction_sender or "the server"
        when = iso_utc(stored.redaction_ts)
        headers.append(("X-Matrix-Redacted", f"{stored.redacted_by} by {who} at {when}".strip()))
    if context.room.encrypted or message.encrypted:
        headers.append(("X-Matrix-Encrypted", "yes"))
    if (attachment := message.attachment) is not None:
        sha = context.media.sha256 if context.media and context.media.sha256 else "unknown"
        file = f"; file={context.media_file}" if context.media_file else ""
        headers.append(("X-Matrix-Attachment", f"{attachment.mxc}; sha256={sha}{file}"))
    return headers


def _body(message: Message) -> str:
    if message.encrypted:
        return ENCRYPTED_NOTE + "\n"
    body = message.text("body")
    stored = message.stored
    if stored.redacted_by is not None:
        kept = "original kept for compliance" if message.original else "original not kept"
        body = f"{body}\n\n[redacted by {stored.redaction_sender or 'the server'}; {kept}]"
    return body + "\n"
