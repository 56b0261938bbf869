"""The tables of dualsync's own database, as SQLAlchemy Core metadata (migrations mirror it)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["checkpoints", "events", "metadata", "processed_messages"]

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
