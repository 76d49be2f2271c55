"""Encrypting a backup with age (pyrage): no cryptography of our own.

Every file is encrypted on its own with `pyrage.encrypt_file` (streaming, authenticated: a
changed byte fails decryption) to the backup's recipients: the `age1...` public keys given with
`--recipient`, and, when a passphrase is given, an X25519 identity generated for this backup
whose secret is stored in `key.age`, itself encrypted with age's passphrase (scrypt) recipient.
So the passphrase is stretched by scrypt once per restore, not once per file, and a backup can be
opened by either the passphrase or the secret key of any recipient.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyrage
from pyrage import passphrase as age_passphrase
from pyrage import x25519

from bastion.backup.errors import BackupError
from bastion.private_files import FILE_MODE, create_private_file

KEY_FILE = "key.age"
SUFFIX = ".age"


@dataclass(frozen=True, slots=True)
class Sealing:
    """How a new backup is encrypted: neither set means not at all."""

    passphrase: str | None = None
    recipients: tuple[str, ...] = ()

    @property
    def encrypted(self) -> bool:
        return self.passphrase is not None or bool(self.recipients)


@dataclass(frozen=True, slots=True)
class Unsealing:
    """What the operator gives to open an encrypted backup."""

    passphrase: str | None = None
    identity_file: Path | None = None


class Sealer:
    """Encrypts the files of one backup to its recipients."""

    def __init__(self, sealing: Sealing, folder: Path) -> None:
        """Parse the recipients; with a passphrase, write `key.age` into `folder`."""
        recipients: list[x25519.Recipient] = []
        for text in sealing.recipients:
            try:
                recipients.append(x25519.Recipient.from_str(text))
            except pyrage.RecipientError:
                raise BackupError(f"--recipient {text!r} is not an age X25519 public key") from None
        if sealing.passphrase is not None:
            if not sealing.passphrase:
                raise BackupError("the passphrase is empty")
            identity = x25519.Identity.generate()
            sealed = age_passphrase.encrypt(str(identity).encode(), sealing.passphrase)
            with os.fdopen(create_private_file(folder / KEY_FILE), "wb") as handle:
                handle.write(sealed)
            recipients.append(identity.to_public())
        self._recipients = recipients

    def seal(self, source: Path, target: Path) -> None:
        """Encrypt `source` into the new file `target` (0600)."""
        pyrage.encrypt_file(str(source), str(target), self._recipients)
        target.chmod(FILE_MODE)


class Opener:
    """Decrypts the files of one backup with the identities the operator's key material opens."""

    def __init__(self, unsealing: Unsealing, folder: Path, *, has_key_file: bool) -> None:
        identities: list[x25519.Identity] = []
        if unsealing.passphrase is not None:
            if not has_key_file:
                raise BackupError("this backup has no passphrase: give --identity")
            identities.append(_identity_from_passphrase(folder / KEY_FILE, unsealing.passphrase))
        if unsealing.identity_file is not None:
            identities.extend(_identities_in(unsealing.identity_file))
        if not identities:
            raise BackupError("the backup is encrypted: give --passphrase-stdin or --identity FILE")
        self._identities = identities

    def open(self, source: Path, target: Path) -> None:
        """Decrypt `source` into the new file `target` (0600)."""
        os.close(create_private_file(target))
        try:
            pyrage.decrypt_file(str(source), str(target), self._identities)
        except pyrage.DecryptError:
            target.unlink(missing_ok=True)
            raise BackupError(
                f"cannot decrypt {source.name}: the identity does not open this backup"
            ) from None


def _identity_from_passphrase(key_file: Path, passphrase: str) -> x25519.Identity:
    try:
        secret = age_passphrase.decrypt(key_file.read_bytes(), passphrase)
    except pyrage.DecryptError:
        raise BackupError("wrong passphrase: it does not open this backup's key.age") from None
    return x25519.Identity.from_str(secret.decode())


def _identities_in(path: Path) -> list[x25519.Identity]:
    """The `AGE-SECRET-KEY-1...` lines of an age identity file (as age-keygen writes it)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BackupError(f"cannot read identity file {path}: {exc.strerror}") from None
    identities = []
    for line in lines:
        if line.startswith("AGE-SECRET-KEY-"):
            try:
                identities.append(x25519.Identity.from_str(line.strip()))
            except pyrage.IdentityError:
                raise BackupError(f"{path}: not a valid age secret key") from None
    if not identities:
        raise BackupError(f"{path} holds no AGE-SECRET-KEY line")
    return identities
