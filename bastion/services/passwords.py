"""argon2id password hashing, off the event loop.

Hashing costs tens of milliseconds of CPU by design, so it runs in a worker thread and the server
keeps answering other requests meanwhile. When no account matches, `verify_or_waste` still does
one verification against a fixed hash so that response time does not reveal which names exist.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bastion.config import AuthConfig


class Passwords:
    """Hashes and verifies passwords with the configured argon2id cost."""

    def __init__(self, config: AuthConfig) -> None:
        self._hasher = PasswordHasher(
            time_cost=config.argon2_time_cost,
            memory_cost=config.argon2_memory_kib,
            parallelism=config.argon2_parallelism,
        )
        self._decoy_hash = self._hasher.hash("decoy password, never matches a real one")

    async def hash(self, password: str) -> str:
        """A new argon2id hash of `password`."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify_or_waste(self, password_hash: str | None, password: str) -> bool:
        """True if `password` matches; with no hash, spend the same time and return False."""
        target = password_hash if password_hash is not None else self._decoy_hash
        ok = await asyncio.to_thread(self._verify, target, password)
        return ok and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the configured ones."""
        return self._hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
