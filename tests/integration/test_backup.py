"""`bastion backup` while the server takes messages, then `bastion restore` (issue #13 §5).

The server runs in this process (the `hs` fixture, on SQLite and on PostgreSQL); the CLI runs as
a subprocess against the same database, as an operator's cron job would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import Homeserver, UserClient
from tests.integration.backup_helpers import (
    audit_actions,
    cli,
    empty_database,
    files_under,
    restored_event_ids,
    same_bytes,
    write_config,
)

MAX_CONCURRENT_SENDS = 400  # the load is bounded: the sender stops here even if the backup lags


async def _send_until(
    alice: UserClient, room_id: str, done: asyncio.Event, acked: list[str]
) -> None:
    for n in range(MAX_CONCURRENT_SENDS):
        if done.is_set():
            return
        acked.append(await alice.send_text(room_id, f"during backup {n}"))


async def test_backup_under_send_load_keeps_every_acknowledged_message(
    hs: Homeserver, db_kind: str, tmp_path: Path
) -> None:
    """Issue #13 §5: "A test: back up under send load, restore, and every message acknowledged
    before the backup began is there." Also: "`bastion backup --out DIR` makes a consistent online
    backup while the server runs ..., with the media store, the signing key and the config"."""
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    before = [await alice.send_text(room_id, f"before backup {n}") for n in range(30)]
    upload = await alice.post("/_matrix/media/v3/upload", content=b"lab results")
    assert upload.status_code == 200, upload.text
    config = write_config(hs, tmp_path)
    out = tmp_path / "backup"

    done, during = asyncio.Event(), list[str]()
    sender = asyncio.create_task(_send_until(alice, room_id, done, during))
    try:
        made = await cli("backup", "--config", config, "--out", out)
    finally:
        done.set()
        await sender
    assert made.returncode == 0, made.stderr
    assert during, "no message was sent while the backup ran"
    assert ("backup.create", "success") in await audit_actions(hs)

    verified = await cli("backup", "verify", out)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified" in verified.stdout

    target = tmp_path / "restored"
    async with empty_database(db_kind) as database_args:
        restored = await cli("restore", out, "--dir", target, *database_args)
        assert restored.returncode == 0, restored.stderr
        event_ids = await restored_event_ids(target / "bastion.toml")
    assert set(before) <= event_ids
    assert b"lab results" in files_under(target / "media")
    assert same_bytes(target / "bastion.signing.key", Path(hs.runtime.config.signing_key_path))
