"""What `bastion backup`, `backup verify` and `restore` refuse, and how they say it (issue #13 §5).

Every refusal is one `error:` line and a non-zero exit, never a traceback; verify exits 0 for a
backup that restores with its manifest's counts and hashes, 1 otherwise.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from pyrage import x25519

from bastion.backup.databases import pg_tool
from bastion.backup.errors import BackupError
from bastion.backup.manifest import (
    FORMAT,
    VERSION,
    Counts,
    FileEntry,
    Manifest,
    check_files,
    read_manifest,
    sha256_of,
    write_manifest,
)
from bastion.backup.sealing import Opener, Sealer, Sealing, Unsealing
from tests.conftest import Homeserver
from tests.integration.backup_helpers import audit_actions, cli, empty_database, write_config

PASSPHRASE = "correct horse battery staple\n"


def _assert_clean_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


async def _backup(hs: Homeserver, tmp_path: Path, *args: str, input_text: str = "") -> Path:
    alice = await hs.register_user("alice")
    room_id = await alice.create_room()
    await alice.send_text(room_id, "hello")
    upload = await alice.post("/_matrix/media/v3/upload", content=b"x-ray")
    assert upload.status_code == 200, upload.text
    out = tmp_path / "backup"
    made = await cli(
        "backup", "--config", write_config(hs, tmp_path), "--out", out, *args, input_text=input_text
    )
    assert made.returncode == 0, made.stderr
    return out


async def test_a_tampered_file_is_named_and_refused(hs: Homeserver, tmp_path: Path) -> None:
    """Issue #13 §5: "a manifest with SHA-256s" and "`bastion backup verify` that restores into a
    scratch place and checks counts and hashes"; the brief: "Clear errors, never a traceback
    (... tampered file named by the manifest check)"."""
    out = await _backup(hs, tmp_path)
    verified = await cli("backup", "verify", out)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    media_file = next(p for p in (out / "media").rglob("*") if p.is_file())
    media_file.write_bytes(b"x-raz")
    name = media_file.relative_to(out).as_posix()

    _assert_clean_failure(await cli("backup", "verify", out), "damaged", name)
    _assert_clean_failure(await cli("restore", out, "--dir", tmp_path / "r"), name)
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


async def test_verify_exits_1_when_the_counts_differ(hs: Homeserver, tmp_path: Path) -> None:
    """Issue #13 §5: "`bastion backup verify` that restores into a scratch place and checks
    counts and hashes" (exit 0 when they match, 1 with a clear line when they do not)."""
    out = await _backup(hs, tmp_path)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["counts"]["events"] += 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")

    result = await cli("backup", "verify", out)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED verification" in result.stdout
    assert "events:" in result.stdout
    assert "Traceback" not in result.stderr


async def test_a_passphrase_backup_opens_only_with_its_passphrase(
    hs: Homeserver, db_kind: str, tmp_path: Path
) -> None:
    """Issue #13 §5: "optionally encrypted with a passphrase or an age/X25519 public key (a
    maintained library, not home-made crypto)"; a wrong passphrase is a clear error."""
    out = await _backup(hs, tmp_path, "--passphrase-stdin", input_text=PASSPHRASE)
    stored = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert b"hello" not in stored
    assert b"x-ray" not in stored

    _assert_clean_failure(
        await cli("backup", "verify", out, "--passphrase-stdin", input_text="wrong\n"),
        "wrong passphrase",
    )
    _assert_clean_failure(await cli("backup", "verify", out), "encrypted")
    verified = await cli("backup", "verify", out, "--passphrase-stdin", input_text=PASSPHRASE)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    async with empty_database(db_kind) as database_args:
        restored = await cli(
            "restore", out, "--dir", tmp_path / "r", "--passphrase-stdin", *database_args,
            input_text=PASSPHRASE,
        )  # fmt: skip
    assert restored.returncode == 0, restored.stderr


async def test_a_recipient_backup_opens_with_the_identity(hs: Homeserver, tmp_path: Path) -> None:
    """Issue #13 §5: "optionally encrypted with ... an age/X25519 public key"."""
    identity = x25519.Identity.generate()
    out = await _backup(hs, tmp_path, "--recipient", str(identity.to_public()))
    identity_file = tmp_path / "key.txt"
    identity_file.write_text(f"# created for a test\n{identity}\n", encoding="utf-8")
    other_file = tmp_path / "other.txt"
    other_file.write_text(f"{x25519.Identity.generate()}\n", encoding="utf-8")

    _assert_clean_failure(await cli("backup", "verify", out, "--identity", other_file), "decrypt")
    verified = await cli("backup", "verify", out, "--identity", identity_file)
    assert verified.returncode == 0, verified.stdout + verified.stderr


async def test_restore_refuses_a_non_empty_target(
    hs: Homeserver, db_kind: str, tmp_path: Path
) -> None:
    """Issue #13 §5: "`bastion restore` into an empty directory or database"."""
    out = await _backup(hs, tmp_path)
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "notes.txt").write_text("keep me", encoding="utf-8")

    async with empty_database(db_kind) as database_args:
        result = await cli("restore", out, "--dir", target, *database_args)
    _assert_clean_failure(result, "not empty")
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


async def test_restore_refuses_a_non_empty_database(
    hs: Homeserver, db_kind: str, tmp_path: Path
) -> None:
    """Issue #13 §5: "`bastion restore` into an empty directory or database" (PostgreSQL: the
    database named by `--database-url`); nothing is written to the target folder."""
    if db_kind == "sqlite":
        pytest.skip("a SQLite backup restores into the target folder only")
    out = await _backup(hs, tmp_path)
    async with empty_database(db_kind) as database_args:
        first = await cli("restore", out, "--dir", tmp_path / "a", *database_args)
        assert first.returncode == 0, first.stderr
        second = await cli("restore", out, "--dir", tmp_path / "b", *database_args)
    _assert_clean_failure(second, "not empty")
    assert not (tmp_path / "b").exists()  # refused before anything was written


async def test_backup_refuses_an_existing_folder(hs: Homeserver, tmp_path: Path) -> None:
    """The brief: "`bastion backup --out DIR` (DIR must not exist)"."""
    existing = tmp_path / "there"
    existing.mkdir()
    result = await cli("backup", "--config", write_config(hs, tmp_path), "--out", existing)
    _assert_clean_failure(result, "already exists")
    assert not any(existing.iterdir())
    assert ("backup.create", "failure") in await audit_actions(hs)


def test_a_missing_pg_dump_is_a_clear_error(tmp_path: Path) -> None:
    """The brief: "Clear errors, never a traceback (missing pg_dump, ...)"."""
    with pytest.raises(BackupError, match="pg_dump not found"):
        pg_tool("pg_dump", versioned_root=tmp_path, search=lambda _name: None)
    newest = tmp_path / "16" / "bin" / "pg_dump"
    for version in ("9", "16"):
        (tmp_path / version / "bin").mkdir(parents=True)
        (tmp_path / version / "bin" / "pg_dump").touch()
    assert pg_tool("pg_dump", versioned_root=tmp_path, search=lambda _name: None) == str(newest)


def _tiny_backup(folder: Path) -> Manifest:
    """A backup folder holding one file, described by its manifest."""
    folder.mkdir()
    (folder / "signing.key").write_bytes(b"ed25519 a key")
    digest, size = sha256_of(folder / "signing.key")
    manifest = Manifest(
        format=FORMAT, version=VERSION, created_ms=0, server_name="test.bastion",
        database="sqlite", schema="", encrypted=False, passphrase=False,
        counts=Counts(users=0, rooms=0, events=0, media=0),
        files={"signing.key": FileEntry(digest, size)},
    )  # fmt: skip
    write_manifest(folder, manifest)
    return manifest


def test_the_manifest_check_names_what_is_missing_or_extra(tmp_path: Path) -> None:
    """Issue #13 §5: "with ... a manifest with SHA-256s": a file the manifest does not list, or
    one it lists that is gone, is refused by name; a folder without a manifest is no backup."""
    with pytest.raises(BackupError, match="not a Bastion backup"):
        read_manifest(tmp_path)
    folder = tmp_path / "b"
    manifest = _tiny_backup(folder)
    check_files(folder, read_manifest(folder))

    (folder / "planted.sh").write_text("echo hi", encoding="utf-8")
    with pytest.raises(BackupError, match=r"planted\.sh is not in the manifest"):
        check_files(folder, manifest)
    (folder / "planted.sh").unlink()
    (folder / "signing.key").unlink()
    with pytest.raises(BackupError, match=r"signing\.key is missing"):
        check_files(folder, manifest)


async def test_restore_refuses_options_that_do_not_fit_the_backup(tmp_path: Path) -> None:
    """Issue #13 §5: "`bastion restore` into an empty directory or database" (`--database-url`
    only for a PostgreSQL backup; an encrypted backup needs its key)."""
    folder = tmp_path / "b"
    _tiny_backup(folder)
    restore = await cli(
        "restore", folder, "--dir", tmp_path / "r", "--database-url", "postgresql://x"
    )
    _assert_clean_failure(restore, "SQLite backup")
    _assert_clean_failure(
        await cli("restore", tmp_path / "nowhere", "--dir", tmp_path / "r"), "not a folder"
    )


def test_keys_that_are_not_age_keys_are_refused(tmp_path: Path) -> None:
    """Issue #13 §5: "optionally encrypted with a passphrase or an age/X25519 public key"."""
    with pytest.raises(BackupError, match="not an age X25519 public key"):
        Sealer(Sealing(recipients=("age1nonsense",)), tmp_path)
    with pytest.raises(BackupError, match="passphrase is empty"):
        Sealer(Sealing(passphrase=""), tmp_path)
    no_key = tmp_path / "notes.txt"
    no_key.write_text("no key here\n", encoding="utf-8")
    with pytest.raises(BackupError, match="no AGE-SECRET-KEY"):
        Opener(Unsealing(identity_file=no_key), tmp_path, has_key_file=False)
    with pytest.raises(BackupError, match="has no passphrase"):
        Opener(Unsealing(passphrase="pw"), tmp_path, has_key_file=False)
