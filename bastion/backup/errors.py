"""The one error a backup, restore or verify raises: its message is the whole story."""

from __future__ import annotations


class BackupError(Exception):
    """The operation cannot go on (missing tool, wrong passphrase, tampered file, ...)."""
