"""Media the purge may delete with the events (or kept redacted originals) that named it.

A purged message's, or a pruned redacted original's, local `mxc://` URIs (its `url`,
`info.thumbnail_url`, an encrypted file's `file.url`: every string in the content) name media
that may now be unreferenced. The store deletes a media row only when no remaining event, kept
redacted original, held original or profile names it (store/sql/retention.py,
`delete_unreferenced_media`), in the transaction that purged the events or pruned the originals
(so a redacted message's file goes when its kept content does, unless something else still
names it); the files go after commit (a crash in between leaves files without rows, never a row
without its file).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from bastion.services.media.mxc import local_media_id, mxc_uris_in


def local_media_ids(pdus: Iterable[str], server_name: str) -> set[str]:
    """The IDs of this server's media that these stored events' content names."""
    found: set[str] = set()
    for pdu in pdus:
        for uri in mxc_uris_in(json.loads(pdu).get("content")):
            if (media_id := local_media_id(server_name, uri)) is not None:
                found.add(media_id)
    return found
