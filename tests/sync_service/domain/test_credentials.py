"""Secrets: random, stored as SHA-256 hex, compared in constant time."""

from __future__ import annotations

import hashlib

from sync_service.domain.credentials import hash_secret, new_secret, secrets_match


def test_secrets_are_random_and_long() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(len(secret) >= 43 for secret in secrets)


def test_the_hash_is_sha256_hex_and_matches_only_its_secret() -> None:
    secret = new_secret()
    assert hash_secret(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert secrets_match(secret, hash_secret(secret))
    assert not secrets_match(new_secret(), hash_secret(secret))
