"""The tables of dualsync's own database, as SQLAlchemy Core metadata (migrations mirror it)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = [
    "checkpoints",
    "command_issuers",
    "command_outcomes",
    "contacts",
    "credentials",
    "customer_accounts",
    "events",
    "idempotency_keys",
    "invitations",
    "metadata",
    "price_list_prices",
    "processed_messages",
    "products",
]

# Named constraints, so that migrations can refer to them and errors can be told apart by name.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

events = Table(
    "events",
    metadata,
    # Assigned as max + 1 under a lock, never by a sequence: see sync_service.eventstore.postgres.
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("stream_id", Text, nullable=False),
    Column("stream_type", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("origin", Text, nullable=False),
    Column("company", Text, nullable=False),
    Column("correlation_id", Uuid, nullable=False),
    Column("causation_id", Uuid, nullable=True),
    Column("payload", JSONB, nullable=False),
    # The unique index on (stream_id, version) also serves stream reads and version look-ups,
    # so there is no second index on the same columns to slow down every insert.
    UniqueConstraint("stream_id", "version"),
    UniqueConstraint("event_id"),
    CheckConstraint("origin IN ('portal', 'scm')", name="origin"),
    CheckConstraint("version >= 1", name="version_positive"),
    CheckConstraint("position >= 1", name="position_positive"),
)

processed_messages = Table(
    "processed_messages",
    metadata,
    Column("consumer", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "message_id"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("name", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# The write model: the current state that command checks need, derived from the events and
# written in the transaction that appends them (sync_service.writemodel). Every table but
# idempotency_keys can be dropped and rebuilt from the event store.

contacts = Table(
    "contacts",
    metadata,
    Column("contact_id", Uuid, primary_key=True),
    Column("contact_person_id", Text),
    Column("firstname", Text),
    Column("lastname", Text),
    Column("email", Text),
    Column("phone", Text),
    Column("company", Text),
    Column("account_number", Text),
    Column("price_list", Text),
    Column("currency", Text),
    Column("ship_to_country", Text),
    Column("language", Text),
    Column("web_roles", JSONB, nullable=False),
    # The contact stream's version at the last ContactUpserted.
    Column("version", Integer, nullable=False),
    Index("ix_contacts_company_account_number", "company", "account_number"),
)
# Case-insensitive look-up by email (GET /admin/contacts?email=).
Index("ix_contacts_lower_email", func.lower(contacts.c.email))

customer_accounts = Table(
    "customer_accounts",
    metadata,
    Column("company", Text, nullable=False),
    Column("account_number", Text, nullable=False),
    Column("name", Text),
    Column("price_list", Text),
    Column("currency", Text),
    Column("language", Text),
    # The whole CDS account record, as the last CustomerAccountUpserted carried it.
    Column("record", JSONB, nullable=False),
    PrimaryKeyConstraint("company", "account_number"),
)

products = Table(
    "products",
    metadata,
    Column("company", Text, nullable=False),
    Column("product_number", Text, nullable=False),
    Column("name", Text),
    Column("default_unit", Text),
    Column("units", JSONB, nullable=False),
    Column("list_price", Numeric),
    Column("record", JSONB, nullable=False),
    PrimaryKeyConstraint("company", "product_number"),
)

price_list_prices = Table(
    "price_list_prices",
    metadata,
    Column("company", Text, nullable=False),
    Column("price_list", Text, nullable=False),
    Column("product_number", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("amount", Numeric, nullable=False),
    Column("currency", Text),
    PrimaryKeyConstraint("company", "price_list", "product_number", "unit"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("invitation_id", Uuid, primary_key=True),
    Column("code_hash", Text, nullable=False),
    Column("contact_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),
    Column("max_redemptions", Integer, nullable=False),
    Column("redemptions", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("code_hash"),
    CheckConstraint("kind IN ('single', 'group')", name="kind"),
)

# The secret is stored nowhere; its hash finds the row, its id (derived from the hash) names it.
credentials = Table(
    "credentials",
    metadata,
    Column("credential_hash", Text, primary_key=True),
    Column("contact_id", Uuid, nullable=False),
    Column("invitation_id", Uuid, nullable=False),
    Column("credential_id", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", Text),
    UniqueConstraint("credential_id"),
    Index("ix_credentials_contact_id", "contact_id"),
)

command_outcomes = Table(
    "command_outcomes",
    metadata,
    Column("command_id", Uuid, primary_key=True),
    Column("command_type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("errors", JSONB, nullable=False),
    Column("stream_id", Text),
    Column("aggregate_id", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('accepted', 'rejected')", name="status"),
)

# Written by the API before it publishes a command: GET /commands/{id} answers its issuer only
# (and administrators), even while the outcome is pending.
command_issuers = Table(
    "command_issuers",
    metadata,
    Column("command_id", Uuid, primary_key=True),
    Column("issued_by", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Claimed by the API before it publishes a SubmitOrder, so not derived from events.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("order_id", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("caller_id", "key"),
)
