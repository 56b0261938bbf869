"""Credentials that expire and can be revoked (issue 16): an id to name one, when it was made,
when it expires, and whether (and by whom) it was revoked.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sync_service.domain.credentials import credential_id

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the columns; give the credentials minted before an id and their redemption time."""
    op.add_column("credentials", sa.Column("credential_id", sa.Uuid(), nullable=True))
    op.add_column("credentials", sa.Column("created_at", sa.DateTime(timezone=True)))
    # Credentials minted before have no expiry (NULL): they keep working until revoked.
    op.add_column("credentials", sa.Column("expires_at", sa.DateTime(timezone=True)))
    op.add_column("credentials", sa.Column("revoked_at", sa.DateTime(timezone=True)))
    op.add_column("credentials", sa.Column("revoked_by", sa.Text()))
    connection = op.get_bind()
    found = connection.execute(sa.text("SELECT credential_hash FROM credentials")).scalars()
    ids = [{"id": credential_id(hash_), "hash": hash_} for hash_ in found.all()]
    if ids:
        connection.execute(
            sa.text("UPDATE credentials SET credential_id = :id WHERE credential_hash = :hash"),
            ids,
        )
    connection.execute(
        sa.text(
            "UPDATE credentials c SET created_at = e.occurred_at FROM events e "
            "WHERE e.event_type = 'InvitationRedeemed' "
            "AND e.payload ->> 'credential_hash' = c.credential_hash"
        )
    )
    op.alter_column("credentials", "credential_id", nullable=False)
    op.create_unique_constraint("uq_credentials_credential_id", "credentials", ["credential_id"])
    op.create_index("ix_credentials_contact_id", "credentials", ["contact_id"])


def downgrade() -> None:
    """Drop the columns (revocations are lost from the table, not from the event store)."""
    op.drop_index("ix_credentials_contact_id", table_name="credentials")
    op.drop_constraint("uq_credentials_credential_id", "credentials", type_="unique")
    for column in ("revoked_by", "revoked_at", "expires_at", "created_at", "credential_id"):
        op.drop_column("credentials", column)
