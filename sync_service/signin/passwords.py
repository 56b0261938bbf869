"""Passwords: the rule a new password must meet, and argon2id hashes (argon2-cffi)."""

from __future__ import annotations

import asyncio
from typing import Final
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sync_service.signin.base import PasswordStore

__all__ = [
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "PASSWORD_HINT",
    "hash_password",
    "password_refusal",
    "set_password",
    "verify_password",
]

MIN_PASSWORD: Final = 10
MAX_PASSWORD: Final = 256  # bounds the work one sign-in costs the server
PASSWORD_HINT: Final = (
    f"At least {MIN_PASSWORD} characters (at most {MAX_PASSWORD}), and not your e-mail address."
)

_HASHER: Final = PasswordHasher()  # argon2id with argon2-cffi's current recommended parameters

# Verified when the e-mail address has no password, so that its answer takes as long as a
# wrong password's and does not tell which addresses have one.
_DUMMY_HASH: Final = _HASHER.hash("no password is stored for this contact")


def password_refusal(password: str, email: str | None) -> str | None:
    """Why `password` may not be chosen (in words for the person), None when it may."""
    if len(password) < MIN_PASSWORD:
        return f"The password must have at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"The password must have at most {MAX_PASSWORD} characters."
    if email and password.strip().casefold() == email.strip().casefold():
        return "The password must not be your e-mail address."
    return None


async def hash_password(password: str) -> str:
    """The argon2id hash of `password` (computed in a worker thread: it takes tens of ms)."""
    return await asyncio.to_thread(_HASHER.hash, password)


async def set_password(store: PasswordStore, contact_id: UUID, password: str) -> None:
    """Store the hash of the contact's new password (the rule is checked by the caller)."""
    await store.set_password_hash(contact_id, await hash_password(password))


async def verify_password(store: PasswordStore, contact_id: UUID | None, password: str) -> bool:
    """Whether `password` is the contact's; a hash of older parameters is replaced on success."""
    stored = None if contact_id is None else await store.password_hash(contact_id)
    if len(password) > MAX_PASSWORD:
        return False
    matches = await asyncio.to_thread(_verify, stored or _DUMMY_HASH, password)
    if not matches or stored is None or contact_id is None:
        return False
    if _HASHER.check_needs_rehash(stored):
        await set_password(store, contact_id, password)
    return True


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
