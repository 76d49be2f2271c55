"""Compliance export (issue #13 §3): conversations and subject-access data, streamed to an archive.

request.py (what is asked, checked) · jobs.py (the durable jobs: schedule, run, status,
download; audited) · writer.py (batches of events → the chosen format; attachments) ·
message.py (an event's facts) · rows.py (JSON Lines, CSV) · eml.py (RFC 5322) ·
eml_parts.py (EML messages packed into inner zip parts: few archive entries) · archive.py
(zip or folder, SHA-256 manifest) · subject.py (a GDPR subject's profile, devices, rooms) ·
manifest.py (a finished export's manifest read back from its zip, for the admin console).

The export reads events without the client read door on purpose: it is an admin-only
compliance read, audited, that must include what clients never see (the originals of redacted
events). docs/compliance.md describes the formats.
"""
