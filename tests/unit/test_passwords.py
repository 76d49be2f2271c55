"""argon2id password hashing at a test-sized cost."""

from __future__ import annotations

import msgspec
import pytest

from bastion.config import AuthConfig
from bastion.services.passwords import Passwords

LOW_COST = AuthConfig(
    token_hmac_key="k", argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1
)
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Passwords(LOW_COST)


async def test_hash_is_argon2id_with_the_configured_cost(passwords: Passwords) -> None:
    hashed = await passwords.hash(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert "m=1024,t=1,p=1" in hashed
    assert PASSWORD not in hashed


async def test_hashes_are_salted(passwords: Passwords) -> None:
    assert await passwords.hash(PASSWORD) != await passwords.hash(PASSWORD)


async def test_verify_right_and_wrong_password(passwords: Passwords) -> None:
    hashed = await passwords.hash(PASSWORD)
    assert await passwords.verify_or_waste(hashed, PASSWORD) is True
    assert await passwords.verify_or_waste(hashed, PASSWORD + "!") is False
    assert await passwords.verify_or_waste(hashed, "") is False


async def test_no_hash_never_verifies(passwords: Passwords) -> None:
    assert await passwords.verify_or_waste(None, PASSWORD) is False
    assert (
        await passwords.verify_or_waste(None, "decoy password, never matches a real one") is False
    )


async def test_garbage_hash_is_a_wrong_password_not_a_crash(passwords: Passwords) -> None:
    assert await passwords.verify_or_waste("not-a-hash", PASSWORD) is False


async def test_needs_rehash_when_parameters_differ(passwords: Passwords) -> None:
    hashed = await passwords.hash(PASSWORD)
    assert passwords.needs_rehash(hashed) is False

    stronger = Passwords(msgspec.structs.replace(LOW_COST, argon2_time_cost=2))
    assert stronger.needs_rehash(hashed) is True
    more_memory = Passwords(msgspec.structs.replace(LOW_COST, argon2_memory_kib=2048))
    assert more_memory.needs_rehash(hashed) is True

    # A hash made under old parameters still verifies, so the login can upgrade it.
    assert await stronger.verify_or_waste(hashed, PASSWORD) is True
    assert stronger.needs_rehash(await stronger.hash(PASSWORD)) is False
