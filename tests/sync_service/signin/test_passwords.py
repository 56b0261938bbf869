"""The password rule and argon2id hashes, rehashed when the hasher's parameters change."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from argon2 import PasswordHasher

from sync_service.signin import passwords
from sync_service.signin.passwords import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    hash_password,
    password_refusal,
    set_password,
    verify_password,
)


class MemoryPasswords:
    """A PasswordStore in a dict: the rule and the hashing are what is tested here."""

    def __init__(self) -> None:
        self.hashes: dict[UUID, str] = {}

    async def password_hash(self, contact_id: UUID) -> str | None:
        return self.hashes.get(contact_id)

    async def set_password_hash(self, contact_id: UUID, password_hash: str) -> None:
        self.hashes[contact_id] = password_hash


@pytest.mark.parametrize(
    ("password", "refused"),
    [
        ("x" * (MIN_PASSWORD - 1), "at least 10 characters"),
        ("x" * MIN_PASSWORD, None),
        ("x" * MAX_PASSWORD, None),
        ("x" * (MAX_PASSWORD + 1), "at most 256 characters"),
        ("Jane@X.example", "not be your e-mail address"),
        ("a good long passphrase", None),
    ],
)
def test_the_password_rule(password: str, refused: str | None) -> None:
    refusal = password_refusal(password, "jane@x.example")
    assert (refusal is None) if refused is None else (refusal is not None and refused in refusal)


async def test_a_password_is_stored_as_an_argon2id_hash_and_verified() -> None:
    store, contact = MemoryPasswords(), uuid4()
    await set_password(store, contact, "correct horse battery")
    stored = store.hashes[contact]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert await verify_password(store, contact, "correct horse battery")
    assert not await verify_password(store, contact, "correct horse battery!")
    assert not await verify_password(store, uuid4(), "correct horse battery")
    assert not await verify_password(store, None, "correct horse battery")
    assert not await verify_password(store, contact, "x" * (MAX_PASSWORD + 1))


async def test_two_hashes_of_one_password_differ() -> None:
    assert await hash_password("same password!") != await hash_password("same password!")


async def test_a_hash_of_older_parameters_is_replaced_at_the_next_sign_in() -> None:
    store, contact = MemoryPasswords(), uuid4()
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    store.hashes[contact] = weaker.hash("an old password")
    assert await verify_password(store, contact, "an old password")
    renewed = store.hashes[contact]
    assert passwords._HASHER.check_needs_rehash(weaker.hash("x"))  # the premise
    assert not passwords._HASHER.check_needs_rehash(renewed)
    assert await verify_password(store, contact, "an old password")
    # A wrong password never rewrites the hash.
    before = store.hashes[contact]
    assert not await verify_password(store, contact, "not the password")
    assert store.hashes[contact] == before
