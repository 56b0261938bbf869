"""The read models of the projections: order views with lines, accounts and their contacts.

Registered on the shared `metadata` (migration 0003 mirrors them). `ReadModelTables` groups the
tables one projection run writes, so that a rebuild can fill a copy in a shadow schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from sync_service.db.schema import metadata

__all__ = [
    "LIVE",
    "ReadModelTables",
    "account_views",
    "contact_views",
    "order_view_lines",
    "order_views",
    "projection_checkpoints",
    "projection_stream_versions",
]

order_views = Table(
    "order_views",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("status", Text, nullable=False),
    Column("sales_order_number", Text),
    Column("company", Text),
    Column("customer_account", Text),
    # Who placed it: a contact id, or None (bootstrap admin, an ERP order without a contact).
    Column("orderer_contact_id", Uuid),
    Column("submitted_by", Text),
    Column("origin", Text, nullable=False),
    Column("requested_receipt_date", Date),
    Column("currency", Text),
    Column("total_amount", Numeric),
    Column("sync_failure_reason", Text),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_order_views_company_customer_account", "company", "customer_account"),
    Index("ix_order_views_orderer_contact_id", "orderer_contact_id"),
)

order_view_lines = Table(
    "order_view_lines",
    metadata,
    Column("order_id", Uuid, nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("product_number", Text),
    Column("quantity", Numeric),
    Column("unit", Text),
    Column("price", Numeric),
    Column("amount", Numeric),
    PrimaryKeyConstraint("order_id", "line_number"),
)

# Names for orderers and the account view (GET /account); filled from the events, like orders.
contact_views = Table(
    "contact_views",
    metadata,
    Column("contact_id", Uuid, primary_key=True),
    Column("firstname", Text),
    Column("lastname", Text),
    Column("email", Text),
    Column("company", Text),
    Column("account_number", Text),
    Column("web_roles", JSONB, nullable=False),
    Index("ix_contact_views_company_account_number", "company", "account_number"),
)

account_views = Table(
    "account_views",
    metadata,
    Column("company", Text, nullable=False),
    Column("account_number", Text, nullable=False),
    Column("name", Text),
    Column("currency", Text),
    Column("price_list", Text),
    PrimaryKeyConstraint("company", "account_number"),
)

# Idempotency and per-aggregate order: the version of each stream applied so far, written in
# the transaction that applies the event; a redelivered or older event is at or below it.
projection_stream_versions = Table(
    "projection_stream_versions",
    metadata,
    Column("stream_id", Text, primary_key=True),
    Column("version", Integer, nullable=False),
)

# Freshness, per projection: the newest event applied (for the ops issue's lag view).
projection_checkpoints = Table(
    "projection_checkpoints",
    metadata,
    Column("name", Text, primary_key=True),
    Column("last_position", BigInteger, nullable=False),
    Column("last_event_at", DateTime(timezone=True)),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class ReadModelTables:
    """The tables one projection run writes: the live ones, or a rebuild's shadow copies."""

    orders: Table
    lines: Table
    contacts: Table
    accounts: Table
    versions: Table

    def all(self) -> tuple[Table, ...]:
        """Every table, parents before children."""
        return (self.orders, self.lines, self.contacts, self.accounts, self.versions)

    def in_schema(self, schema: str) -> ReadModelTables:
        """Copies of these tables in `schema`, with the same constraint and index names."""
        shadow = MetaData(naming_convention=metadata.naming_convention)
        return ReadModelTables(*(table.to_metadata(shadow, schema=schema) for table in self.all()))


LIVE = ReadModelTables(
    order_views, order_view_lines, contact_views, account_views, projection_stream_versions
)
"""The tables the API reads."""
