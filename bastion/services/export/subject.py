"""A GDPR (RODO) subject-access export's own files: who the person is to this server.

`subject/profile.json` (user ID, display name, avatar, and every other profile field under
`fields`), `subject/devices.json` (their devices:
names, first and last seen, last address; never a token), `subject/rooms.json` (every room they
have a membership in, and which). Their messages follow in the export's format, selected as the
events they sent (request.py). Bounded by one person's devices and rooms.
"""

from __future__ import annotations

import json

import msgspec

from bastion.services.export.archive import Archive
from bastion.store.database import Database
from bastion.store.protocols.exports import ExportStore

PROFILE, DEVICES, ROOMS = "subject/profile.json", "subject/devices.json", "subject/rooms.json"


async def write_subject_files(
    archive: Archive, db: Database, store: ExportStore, user_id: str
) -> list[str]:
    """Write the subject's files; returns their names."""
    profile = await store.subject_profile(db, user_id)
    displayname, avatar_url = profile if profile is not None else (None, None)
    files = {
        PROFILE: {
            "user_id": user_id,
            "displayname": displayname,
            "avatar_url": avatar_url,
            "fields": await store.subject_profile_fields(db, user_id),
        },
        DEVICES: msgspec.to_builtins(await store.subject_devices(db, user_id)),
        ROOMS: msgspec.to_builtins(await store.subject_rooms(db, user_id)),
    }
    for name, value in files.items():
        with archive.entry(name) as entry:
            entry.write(json.dumps(value, ensure_ascii=False, indent=1).encode() + b"\n")
    return list(files)
