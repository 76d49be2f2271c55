"""The server's ed25519 signing key: generated once by `bastion init`, read at start-up.

Events and federation requests will be signed with it, so it must never change for a server name:
losing it means other servers can no longer verify what this server signed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from signedjson.key import generate_signing_key, read_signing_keys, write_signing_keys
from signedjson.types import SigningKey


class SigningKeyError(Exception):
    """The signing key file is missing or unreadable."""


def write_new_key(path: Path) -> str:
    """Generate a key into `path` (owner-readable only); returns its key ID."""
    key = generate_signing_key("a_" + secrets.token_urlsafe(4).replace("-", "x").replace("_", "y"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        write_signing_keys(stream, [key])
    return f"{key.alg}:{key.version}"


def load_key(path: Path) -> SigningKey:
    """Read the first key from `path`."""
    try:
        with path.open(encoding="utf-8") as stream:
            keys = read_signing_keys(stream)
    except OSError as exc:
        raise SigningKeyError(f"cannot read signing key {path}: {exc}") from exc
    except ValueError as exc:
        raise SigningKeyError(f"signing key {path} is malformed: {exc}") from exc
    if not keys:
        raise SigningKeyError(f"signing key file {path} holds no key")
    key: SigningKey = keys[0]
    return key


def key_id(key: SigningKey) -> str:
    """`ed25519:<version>` as used in signatures."""
    return f"{key.alg}:{key.version}"
