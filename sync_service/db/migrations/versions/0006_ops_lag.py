"""Lag sampling (issue 6): when each consumer group's committed offset last moved.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the committed-offset and map-applied tables of the lag sampler."""
    op.create_table(
        "committed_offsets_seen",
        sa.Column("group_id", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("committed", sa.BigInteger(), nullable=False),
        sa.Column("unchanged_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "topic", "partition", name="pk_committed_offsets_seen"),
    )
    op.create_table(
        "maps_applied",
        sa.Column("map", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("last_applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("map", "direction", name="pk_maps_applied"),
    )


def downgrade() -> None:
    """Drop the lag sampler's tables."""
    op.drop_table("maps_applied")
    op.drop_table("committed_offsets_seen")
