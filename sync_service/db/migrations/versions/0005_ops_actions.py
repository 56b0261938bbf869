"""The ops layer (issue 6): who did what, dead-letter index columns, automatic pauses.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the dead letters' filter columns, who paused a map and why, and `ops_actions`."""
    op.add_column("dead_letters", sa.Column("map_name", sa.Text(), nullable=True))
    op.add_column("dead_letters", sa.Column("company", sa.Text(), nullable=True))
    op.add_column("dead_letters", sa.Column("resolved_by", sa.Text(), nullable=True))
    # Dead letters stored before this revision: their map where the handler names one (a
    # sales order's lines belong to its header's map). The company stays unknown for them.
    op.execute(
        "UPDATE dead_letters SET map_name = CASE handler WHEN 'SalesOrderLines' "
        "THEN 'SalesOrderHeaders' ELSE handler END WHERE handler IN ('CustomersV3', "
        "'ContactPersonsV2', 'SalesOrderHeaders', 'SalesOrderLines', 'ReleasedProducts', "
        "'SalesPriceAgreements')"
    )
    op.create_index(
        "ix_dead_letters_status_first_failed_at_dead_letter_id",
        "dead_letters",
        ["status", "first_failed_at", "dead_letter_id"],
    )
    op.create_index(
        "ix_dead_letters_map_name_first_failed_at",
        "dead_letters",
        ["map_name", "first_failed_at"],
    )
    op.create_index(
        "ix_dead_letters_error_class_first_failed_at",
        "dead_letters",
        ["error_class", "first_failed_at"],
    )
    op.create_index(
        "ix_dead_letters_company_first_failed_at",
        "dead_letters",
        ["company", "first_failed_at"],
    )
    op.add_column("map_states", sa.Column("paused_by", sa.Text(), nullable=True))
    op.add_column("map_states", sa.Column("paused_reason", sa.Text(), nullable=True))
    op.add_column("map_states", sa.Column("note", sa.Text(), nullable=True))
    op.add_column("map_states", sa.Column("changed_by", sa.Text(), nullable=True))
    op.add_column("map_states", sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        "ck_map_states_paused_reason",
        "map_states",
        "paused_reason IS NULL OR paused_reason IN ('ops', 'alert')",
    )
    op.create_table(
        "ops_actions",
        sa.Column("action_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target_kind", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("action_id", name="pk_ops_actions"),
        sa.CheckConstraint(
            "action IN ('redrive', 'discard', 'pause', 'resume')", name="ck_ops_actions_action"
        ),
        sa.CheckConstraint(
            "target_kind IN ('dead_letter', 'map')", name="ck_ops_actions_target_kind"
        ),
    )
    op.create_index(
        "ix_ops_actions_target_kind_target_at", "ops_actions", ["target_kind", "target", "at"]
    )
    op.create_index("ix_ops_actions_at", "ops_actions", ["at"])


def downgrade() -> None:
    """Drop `ops_actions` and the columns the ops layer added."""
    op.drop_index("ix_ops_actions_at", "ops_actions")
    op.drop_index("ix_ops_actions_target_kind_target_at", "ops_actions")
    op.drop_table("ops_actions")
    op.drop_constraint("ck_map_states_paused_reason", "map_states", type_="check")
    for column in ("resumed_at", "changed_by", "note", "paused_reason", "paused_by"):
        op.drop_column("map_states", column)
    for index in (
        "ix_dead_letters_company_first_failed_at",
        "ix_dead_letters_error_class_first_failed_at",
        "ix_dead_letters_map_name_first_failed_at",
        "ix_dead_letters_status_first_failed_at_dead_letter_id",
    ):
        op.drop_index(index, "dead_letters")
    for column in ("resolved_by", "company", "map_name"):
        op.drop_column("dead_letters", column)
