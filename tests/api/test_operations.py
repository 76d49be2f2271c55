"""Settings operators change, seen through the client API: the advertised URL, the default room
version, the access token in the query string, and who can read the data on disk."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest

from bastion.config import HttpConfig, ListenConfig, RoomsConfig, sqlite_path
from tests.conftest import (
    PASSWORD,
    Homeserver,
    errcode,
    homeserver_with,
)

WHOAMI = "/_matrix/client/v3/account/whoami"


async def test_well_known_follows_the_listener_port(tmp_path: Path, database_config: Any) -> None:
    """`listen.port` alone moves the base URL clients are told (public_baseurl left empty)."""
    async with homeserver_with(tmp_path, database_config, listen=ListenConfig(port=9000)) as hs:
        resp = await hs.http.get("/.well-known/matrix/client")
        assert resp.json() == {"m.homeserver": {"base_url": "http://127.0.0.1:9000"}}
        await hs.create_user("alice")
        login = await hs.http.post(
            "/_matrix/client/v3/login",
            json={"type": "m.login.password", "user": "alice", "password": PASSWORD},
        )
        well_known = login.json()["well_known"]["m.homeserver"]["base_url"]
        assert well_known.startswith("http://127.0.0.1:9000")


async def test_default_room_version_is_configurable(tmp_path: Path, database_config: Any) -> None:
    """capabilities: "m.room_versions": "default": the version the server uses to create rooms."""
    async with homeserver_with(
        tmp_path, database_config, rooms=RoomsConfig(default_version="11")
    ) as hs:
        alice = await hs.register_user("alice")
        caps = (await alice.get("/capabilities")).json()["capabilities"]
        assert caps["m.room_versions"]["default"] == "11"
        room_id = await alice.create_room()
        assert room_id.endswith(f":{hs.server_name}")  # the !id:server form older clients expect
        create = await alice.get(f"/rooms/{room_id}/state/m.room.create")
        assert create.json()["room_version"] == "11"
        v12 = await alice.create_room(room_version="12")  # asking still works
        assert ":" not in v12


async def test_query_string_token_is_refused_by_default(hs: Homeserver) -> None:
    """Spec v1.20: "Sending the access token as a query string parameter is no longer
    supported"; a request carrying one has no token: 401 M_MISSING_TOKEN."""
    alice = await hs.register_user("alice")
    resp = await hs.http.get(WHOAMI, params={"access_token": alice.token})
    assert errcode(resp) == (401, "M_MISSING_TOKEN")
    assert (await alice.get(WHOAMI)).status_code == 200


async def test_query_string_token_when_enabled_for_old_clients(
    tmp_path: Path, database_config: Any, caplog: pytest.LogCaptureFixture
) -> None:
    http = HttpConfig(allow_access_token_in_query=True)
    async with homeserver_with(tmp_path, database_config, http=http) as hs:
        alice = await hs.register_user("alice")
        with caplog.at_level(logging.INFO, logger="bastion.api.requester"):
            resp = await hs.http.get(WHOAMI, params={"access_token": alice.token})
        assert resp.status_code == 200, resp.text
        assert resp.json()["user_id"] == alice.user_id
        assert "query string" in caplog.text
        assert alice.user_id in caplog.text
        assert alice.token not in caplog.text


def _data_on_disk(media_root: Path, db_file: Path | None) -> tuple[list[Path], list[Path]]:
    """The files and folders holding media and (on SQLite) the database."""
    files = [p for p in media_root.rglob("*") if p.is_file()]
    folders = [media_root, *(p for p in media_root.rglob("*") if p.is_dir())]
    if db_file is not None:
        files += [db_file, *db_file.parent.glob(db_file.name + "-*")]
    return files, folders


async def test_database_and_media_are_private(hs: Homeserver, db_kind: str) -> None:
    """Data files 0600 and their folders 0700, like the config `bastion init` writes."""
    alice = await hs.register_user("alice")
    uploaded = await alice.post("/_matrix/media/v3/upload", content=b"lab results")
    assert uploaded.status_code == 200, uploaded.text
    config = hs.runtime.config
    db_file = Path(sqlite_path(config.database.url)) if db_kind == "sqlite" else None
    files, folders = _data_on_disk(Path(config.media.store_path), db_file)
    if db_file is not None:
        assert len(files) >= 4, files  # the upload, the database, its -wal and -shm
    assert any(p.read_bytes() == b"lab results" for p in files), files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in folders:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
