"""Signing keys and signed records for tests, as the portal API makes them."""

from __future__ import annotations

import secrets

from sync_service.settings import Settings

__all__ = ["new_signing_key", "signed_headers"]


def new_signing_key() -> str:
    """A fresh random command signing key (each test's settings get their own)."""
    return secrets.token_urlsafe(32)


def signed_headers(settings: Settings, key: bytes | None, value: bytes) -> list[tuple[str, bytes]]:
    """The headers the API would publish a command record with, signed with `settings`' key."""
    return settings.command_signer().record_headers(key, value)
