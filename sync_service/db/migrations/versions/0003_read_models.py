"""The read models of the projections (issue 5): order views, accounts, contacts, checkpoints.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the read-model tables."""
    op.create_table(
        "order_views",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("sales_order_number", sa.Text(), nullable=True),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("customer_account", sa.Text(), nullable=True),
        sa.Column("orderer_contact_id", sa.Uuid(), nullable=True),
        sa.Column("submitted_by", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("requested_receipt_date", sa.Date(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("total_amount", sa.Numeric(), nullable=True),
        sa.Column("sync_failure_reason", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_order_views"),
    )
    op.create_index(
        "ix_order_views_company_customer_account", "order_views", ["company", "customer_account"]
    )
    op.create_index("ix_order_views_orderer_contact_id", "order_views", ["orderer_contact_id"])
    op.create_table(
        "order_view_lines",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("product_number", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Numeric(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(), nullable=True),
        sa.Column("amount", sa.Numeric(), nullable=True),
        sa.PrimaryKeyConstraint("order_id", "line_number", name="pk_order_view_lines"),
    )
    op.create_table(
        "contact_views",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        *(
            sa.Column(name, sa.Text(), nullable=True)
            for name in ("firstname", "lastname", "email", "company", "account_number")
        ),
        sa.Column("web_roles", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name="pk_contact_views"),
    )
    op.create_index(
        "ix_contact_views_company_account_number", "contact_views", ["company", "account_number"]
    )
    op.create_table(
        "account_views",
        sa.Column("company", sa.Text(), nullable=False),
        sa.Column("account_number", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("price_list", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("company", "account_number", name="pk_account_views"),
    )
    op.create_table(
        "projection_stream_versions",
        sa.Column("stream_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stream_id", name="pk_projection_stream_versions"),
    )
    op.create_table(
        "projection_checkpoints",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_projection_checkpoints"),
    )


def downgrade() -> None:
    """Drop the read-model tables."""
    for table in (
        "projection_checkpoints",
        "projection_stream_versions",
        "account_views",
        "contact_views",
        "order_view_lines",
        "order_views",
    ):
        op.drop_table(table)
