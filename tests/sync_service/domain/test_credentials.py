"""Secrets: random, stored as SHA-256 hex, compared in constant time; a credential's life."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sync_service.domain.credentials import (
    CredentialRefusal,
    CredentialState,
    credential_expiry,
    credential_id,
    credential_refusal,
    hash_secret,
    new_secret,
    revocation_problems,
    secrets_match,
)
from sync_service.domain.roles import Caller

JANE = uuid.UUID("00000000-0000-4000-8000-00000000000a")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_secrets_are_random_and_long() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(len(secret) >= 43 for secret in secrets)


def test_the_hash_is_sha256_hex_and_matches_only_its_secret() -> None:
    secret = new_secret()
    assert hash_secret(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert secrets_match(secret, hash_secret(secret))
    assert not secrets_match(new_secret(), hash_secret(secret))


def _state(**changes: Any) -> CredentialState:
    """A credential of Jane's minted a day ago for 90 days, with `changes`."""
    minted = CredentialState(
        credential_id=uuid.uuid4(),
        contact_id=JANE,
        invitation_id=uuid.uuid4(),
        created_at=NOW - timedelta(days=1),
        expires_at=credential_expiry(NOW - timedelta(days=1), 90),
    )
    return replace(minted, **changes)


def test_the_id_is_derived_from_the_hash_stably_and_reveals_neither() -> None:
    secret = new_secret()
    assert credential_id(hash_secret(secret)) == credential_id(hash_secret(secret))
    assert credential_id(hash_secret(secret)) != credential_id(hash_secret(new_secret()))
    assert hash_secret(secret)[:8] not in str(credential_id(hash_secret(secret))).replace("-", "")


def test_a_credential_works_until_it_expires_or_is_revoked() -> None:
    state = _state(expires_at=NOW + timedelta(seconds=1))
    assert credential_refusal(state, NOW) is None
    assert credential_refusal(state, NOW + timedelta(seconds=1)) is CredentialRefusal.EXPIRED
    assert credential_refusal(_state(expires_at=None), NOW + timedelta(days=9999)) is None
    revoked = _state(revoked_at=NOW - timedelta(seconds=5), revoked_by="admin")
    assert credential_refusal(revoked, NOW) is CredentialRefusal.REVOKED
    assert CredentialRefusal.EXPIRED.message == "the credential has expired"
    assert CredentialRefusal.REVOKED.message == "the credential has been revoked"


def test_an_administrator_or_the_contact_itself_revokes() -> None:
    state = _state()
    assert revocation_problems(Caller.bootstrap_admin(), JANE, state) == []
    assert revocation_problems(Caller.contact(uuid.uuid4(), ["administrator"]), JANE, state) == []
    assert revocation_problems(Caller.contact(JANE, []), JANE, state) == []
    other = Caller.contact(uuid.uuid4(), ["customer_representative"])
    assert [p.field for p in revocation_problems(other, JANE, state)] == ["issued_by"]
    assert [p.field for p in revocation_problems(Caller.anonymous(), JANE, state)] == ["issued_by"]


def test_unknown_foreign_and_revoked_credentials_are_refused_by_name() -> None:
    admin = Caller.bootstrap_admin()
    unknown = revocation_problems(admin, JANE, None)
    foreign = revocation_problems(admin, uuid.uuid4(), _state())
    twice = revocation_problems(admin, JANE, _state(revoked_at=NOW))
    assert [p.message for p in unknown] == ["the contact has no credential with this id"]
    assert [p.message for p in foreign] == ["the contact has no credential with this id"]
    assert [p.message for p in twice] == ["the credential was revoked before"]
