"""Invitation codes and API credentials: random secrets stored only as hashes, and the life of a
credential (it expires, it can be revoked)."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID, uuid5

from contracts.errors import FieldError
from sync_service.domain.roles import Caller

__all__ = [
    "REVOKED_BEFORE",
    "UNKNOWN_CREDENTIAL",
    "CredentialRefusal",
    "CredentialState",
    "credential_expiry",
    "credential_id",
    "credential_refusal",
    "hash_secret",
    "new_secret",
    "revocation_problems",
    "secrets_match",
]

_CREDENTIAL_IDS: Final = UUID("5b0e3c8e-8d1c-4d53-9f3e-2f9a4c6d1e07")
"""The uuid5 namespace of credential ids (any fixed UUID; never change it)."""

UNKNOWN_CREDENTIAL: Final = "the contact has no credential with this id"
REVOKED_BEFORE: Final = "the credential was revoked before"


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


def credential_id(credential_hash: str) -> UUID:
    """The credential's public id: derived from its hash, so that no event needs to carry it
    (a rebuild gives every credential the same id again) and the hash itself is never shown."""
    return uuid5(_CREDENTIAL_IDS, credential_hash)


def credential_expiry(now: datetime, ttl_days: float) -> datetime:
    """When a credential minted at `now` stops working (`settings.credential_ttl_days`)."""
    return now + timedelta(days=ttl_days)


class CredentialRefusal(enum.Enum):
    """Why a known credential opens nothing any more."""

    REVOKED = "revoked"
    EXPIRED = "expired"

    @property
    def message(self) -> str:
        """A sentence for the API's 401."""
        return f"the credential has {'been revoked' if self is self.REVOKED else 'expired'}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialState:
    """A credential as the write model holds it: never its secret, and its hash only inside."""

    credential_id: UUID
    contact_id: UUID
    invitation_id: UUID
    created_at: datetime | None
    """When its redemption happened; None if unknown (migration 0009 dates the older ones from
    their InvitationRedeemed)."""
    expires_at: datetime | None
    """None: it never expires (minted before credentials had an expiry)."""
    revoked_at: datetime | None = None
    revoked_by: str | None = None


def credential_refusal(state: CredentialState, now: datetime) -> CredentialRefusal | None:
    """Why the credential opens nothing at `now`; None while it works."""
    if state.revoked_at is not None:
        return CredentialRefusal.REVOKED
    if state.expires_at is not None and state.expires_at <= now:
        return CredentialRefusal.EXPIRED
    return None


def revocation_problems(
    caller: Caller, contact_id: UUID, credential: CredentialState | None
) -> list[FieldError]:
    """Every reason `caller` may not revoke `credential` of `contact_id`; empty when it may.

    An Administrator revokes anyone's; a contact its own (a lost device, a leaked script).
    """
    if not (caller.is_admin or caller.contact_id == contact_id):
        message = "only an administrator, or the contact itself, may revoke a credential"
        return [FieldError(field="issued_by", message=message)]
    if credential is None or credential.contact_id != contact_id:
        return [FieldError(field="credential_id", message=UNKNOWN_CREDENTIAL)]
    if credential.revoked_at is not None:
        return [FieldError(field="credential_id", message=REVOKED_BEFORE)]
    return []
