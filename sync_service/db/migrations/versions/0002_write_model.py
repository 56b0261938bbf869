"""The write model: contacts, accounts, products, prices, invitations, credentials, outcomes.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the write-model tables."""
    op.create_table(
        "contacts",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        *(
            sa.Column(name, sa.Text(), nullable=True)
            for name in (
                "contact_person_id",
                "firstname",
                "lastname",
                "email",
                "phone",
                "company",
                "account_number",
                "price_list",
                "currency",
                "ship_to_country",
                "language",
            )
        ),
        sa.Column("web_roles", postgresql.JSONB(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name="pk_contacts"),
    )
    op.create_index("ix_contacts_company_account_number", "contacts", ["company", "account_number"])
    op.create_index("ix_contacts_lower_email", "contacts", [sa.text("lower(email)")])
    op.create_table(
        "customer_accounts",
        sa.Column("company", sa.Text(), nullable=False),
        sa.Column("account_number", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("price_list", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("record", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("company", "account_number", name="pk_customer_accounts"),
    )
    op.create_table(
        "products",
        sa.Column("company", sa.Text(), nullable=False),
        sa.Column("product_number", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("default_unit", sa.Text(), nullable=True),
        sa.Column("units", postgresql.JSONB(), nullable=False),
        sa.Column("list_price", sa.Numeric(), nullable=True),
        sa.Column("record", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("company", "product_number", name="pk_products"),
    )
    op.create_table(
        "price_list_prices",
        sa.Column("company", sa.Text(), nullable=False),
        sa.Column("price_list", sa.Text(), nullable=False),
        sa.Column("product_number", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "company", "price_list", "product_number", "unit", name="pk_price_list_prices"
        ),
    )
    op.create_table(
        "invitations",
        sa.Column("invitation_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("max_redemptions", sa.Integer(), nullable=False),
        sa.Column("redemptions", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("invitation_id", name="pk_invitations"),
        sa.UniqueConstraint("code_hash", name="uq_invitations_code_hash"),
        sa.CheckConstraint("kind IN ('single', 'group')", name="ck_invitations_kind"),
    )
    op.create_table(
        "credentials",
        sa.Column("credential_hash", sa.Text(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("invitation_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("credential_hash", name="pk_credentials"),
    )
    op.create_table(
        "command_outcomes",
        sa.Column("command_id", sa.Uuid(), nullable=False),
        sa.Column("command_type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("errors", postgresql.JSONB(), nullable=False),
        sa.Column("stream_id", sa.Text(), nullable=True),
        sa.Column("aggregate_id", sa.Text(), nullable=True),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("command_id", name="pk_command_outcomes"),
        sa.CheckConstraint("status IN ('accepted', 'rejected')", name="ck_command_outcomes_status"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("caller_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("caller_id", "key", name="pk_idempotency_keys"),
    )


def downgrade() -> None:
    """Drop the write-model tables."""
    for table in (
        "idempotency_keys",
        "command_outcomes",
        "credentials",
        "invitations",
        "price_list_prices",
        "products",
        "customer_accounts",
        "contacts",
    ):
        op.drop_table(table)
