"""Invitation codes and API credentials: random secrets stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["hash_secret", "new_secret", "secrets_match"]


def new_secret() -> str:
    """A fresh URL-safe secret with 256 bits of randomness (an invitation code or credential)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The hex SHA-256 of `secret`, as stored and as sent in commands."""
    # A fast hash is right here: the secrets are 256-bit random tokens, not passwords, so there
    # is nothing to guess by brute force, and a slow KDF would only slow every API request down.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secrets_match(secret: str, stored_hash: str) -> bool:
    """Whether `secret` hashes to `stored_hash`, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
