"""The sign-in tables (migration 0007): portal sessions, passwords, failed attempts."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Table, Text, Uuid

from sync_service.db.schema import metadata

__all__ = ["portal_passwords", "portal_sessions", "signin_failures"]

portal_sessions = Table(
    "portal_sessions",
    metadata,
    # The SHA-256 of the cookie's value: a copy of this table signs nobody in.
    Column("session_hash", Text, primary_key=True),
    Column("contact_id", Uuid, nullable=False),
    Column("csrf_token", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_portal_sessions_contact_id", "contact_id"),
    Index("ix_portal_sessions_expires_at", "expires_at"),
)
"""One row per signed-in browser; deleted at sign-out and once expired."""

portal_passwords = Table(
    "portal_passwords",
    metadata,
    Column("contact_id", Uuid, primary_key=True),
    Column("password_hash", Text, nullable=False),  # argon2id, parameters inside the hash
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""The password a contact chose when redeeming an invitation."""

signin_failures = Table(
    "signin_failures",
    metadata,
    Column("failure_id", BigInteger, Identity(), primary_key=True),
    Column("scope", Text, nullable=False),  # what failed: "sign-in", "redeem"
    Column("client", Text, nullable=False),  # who: an address, or an e-mail address
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Index("ix_signin_failures_scope_client_failed_at", "scope", "client", "failed_at"),
)
"""Failed sign-ins and redemptions, counted by every API process alike (a sliding window)."""
