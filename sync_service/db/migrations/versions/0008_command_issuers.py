"""Who sent each command through the API (issue 16): GET /commands/{id} answers only them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create command_issuers."""
    op.create_table(
        "command_issuers",
        sa.Column("command_id", sa.Uuid(), nullable=False),
        sa.Column("issued_by", sa.Text(), nullable=False),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("command_id", name="pk_command_issuers"),
    )


def downgrade() -> None:
    """Drop command_issuers."""
    op.drop_table("command_issuers")
