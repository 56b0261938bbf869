"""The mapping workers' state (issue 4): dead letters, parked records, map states.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the dead-letter, parked-record and map-state tables."""
    op.create_table(
        "dead_letters",
        sa.Column("dead_letter_id", sa.Uuid(), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("source_topic", sa.Text(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("handler", sa.Text(), nullable=False),
        sa.Column("error_class", sa.Text(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("errors", postgresql.JSONB(), nullable=False),
        sa.Column("original_value", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("dead_letter_id", name="pk_dead_letters"),
        sa.UniqueConstraint(
            "consumer",
            "source_topic",
            "partition",
            "offset",
            name="uq_dead_letters_consumer_source_topic_partition_offset",
        ),
        sa.CheckConstraint(
            "status IN ('open', 'redriven', 'discarded')", name="ck_dead_letters_status"
        ),
    )
    op.create_index(
        "ix_dead_letters_consumer_record_key_status",
        "dead_letters",
        ["consumer", "record_key", "status"],
    )
    op.create_table(
        "parked_records",
        sa.Column("parked_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("source_topic", sa.Text(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column(
            "parked_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("parked_id", name="pk_parked_records"),
        sa.UniqueConstraint(
            "consumer",
            "source_topic",
            "partition",
            "offset",
            name="uq_parked_records_consumer_source_topic_partition_offset",
        ),
    )
    op.create_index(
        "ix_parked_records_consumer_record_key_parked_id",
        "parked_records",
        ["consumer", "record_key", "parked_id"],
    )
    op.create_table(
        "map_states",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name="pk_map_states"),
    )


def downgrade() -> None:
    """Drop the mapping workers' tables."""
    op.drop_table("map_states")
    op.drop_index("ix_parked_records_consumer_record_key_parked_id", "parked_records")
    op.drop_table("parked_records")
    op.drop_index("ix_dead_letters_consumer_record_key_status", "dead_letters")
    op.drop_table("dead_letters")
