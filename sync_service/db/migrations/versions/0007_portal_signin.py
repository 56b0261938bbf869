"""The portal's sign-in (issue 12): browser sessions, passwords and failed attempts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the session, password and failure tables of the portal's sign-in."""
    op.create_table(
        "portal_sessions",
        sa.Column("session_hash", sa.Text(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name="pk_portal_sessions"),
    )
    op.create_index("ix_portal_sessions_contact_id", "portal_sessions", ["contact_id"])
    op.create_index("ix_portal_sessions_expires_at", "portal_sessions", ["expires_at"])
    op.create_table(
        "portal_passwords",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name="pk_portal_passwords"),
    )
    op.create_table(
        "signin_failures",
        sa.Column("failure_id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("client", sa.Text(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("failure_id", name="pk_signin_failures"),
    )
    op.create_index(
        "ix_signin_failures_scope_client_failed_at",
        "signin_failures",
        ["scope", "client", "failed_at"],
    )


def downgrade() -> None:
    """Drop the sign-in tables."""
    op.drop_table("signin_failures")
    op.drop_table("portal_passwords")
    op.drop_table("portal_sessions")
