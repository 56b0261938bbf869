"""The mapping workers' tables (migration 0004): dead letters, parked records, map states."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from sync_service.db.schema import metadata

__all__ = ["dead_letters", "map_states", "parked_records"]

dead_letters = Table(
    "dead_letters",
    metadata,
    # The id of the DeadLetter message on dualsync.deadletter.v1, so ops can name it either way.
    Column("dead_letter_id", Uuid, primary_key=True),
    Column("consumer", Text, nullable=False),
    Column("record_key", Text, nullable=False),
    Column("source_topic", Text, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("handler", Text, nullable=False),
    Column("error_class", Text, nullable=False),
    Column("error_message", Text, nullable=False),
    Column("errors", JSONB, nullable=False),
    Column("original_value", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_failed_at", DateTime(timezone=True), nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("resolution", Text),
    Column("resolved_at", DateTime(timezone=True)),
    # One dead letter per Kafka record: a redelivered poison record does not make a second.
    UniqueConstraint("consumer", "source_topic", "partition", "offset"),
    CheckConstraint("status IN ('open', 'redriven', 'discarded')", name="status"),
    Index(None, "consumer", "record_key", "status"),
)
"""Records a worker could not handle; `open` ones hold their key's later records parked."""

parked_records = Table(
    "parked_records",
    metadata,
    Column("parked_id", BigInteger, primary_key=True, autoincrement=True),
    Column("consumer", Text, nullable=False),
    Column("record_key", Text, nullable=False),
    Column("source_topic", Text, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("value", Text, nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("consumer", "source_topic", "partition", "offset"),
    Index(None, "consumer", "record_key", "parked_id"),
)
"""Later records of a key with an open dead letter, in arrival order, released by a redrive."""

map_states = Table(
    "map_states",
    metadata,
    Column("name", Text, primary_key=True),
    Column("paused", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Whether ops paused a map (a map without a row runs)."""
