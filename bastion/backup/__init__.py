"""Backup and verified restore: `bastion backup`, `bastion restore`, `bastion backup verify`.

An operator tool, outside the request path: it reads the database through its own connections
(the SQLite online backup API, `pg_dump` on an exported snapshot), never through the services,
so a backup is taken while the server runs and sees one consistent moment of the database.

What must stay true:
- A backup is one moment: every transaction committed before the snapshot is in it, none that
  committed after it is half in it (SQLite: one-step online backup under a read transaction;
  PostgreSQL: `pg_dump --snapshot` of a REPEATABLE READ snapshot in which the counts are taken).
  Media are copied after the snapshot, so every file the snapshot refers to exists (files are
  immutable once stored).
- A folder named by `--out` is either a complete backup or absent: the backup is written into
  a hidden sibling folder and renamed into place only once `manifest.json` is written.
- `manifest.json` names every file with its SHA-256 and size; restore and verify check every
  file against it before using any, and name the one that differs.
- Encryption is age (pyrage), never our own: each file is encrypted to age X25519 recipients;
  a passphrase protects a per-backup identity (`key.age`, age's scrypt recipient).
- Restore writes only into an empty folder (and an empty PostgreSQL database), never over data.

Layout: create.py (making a backup), restore.py (restore and verify), databases.py (snapshot,
counts and restore per database), sealing.py (age), manifest.py (the manifest and hashes).
"""
