"""The mapping workers' tables (migrations 0004, 0005): dead letters, parked records, map states,
and the ops actions taken on them."""

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

__all__ = ["dead_letters", "map_states", "ops_actions", "parked_records"]

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
    # Migration 0005: the ops filters (the map, when the handler is one; the envelope's company)
    # and who closed it ("admin-token", "contact:<id>", "cli:<user>").
    Column("map_name", Text),
    Column("company", Text),
    Column("resolved_by", Text),
    # One dead letter per Kafka record: a redelivered poison record does not make a second.
    UniqueConstraint("consumer", "source_topic", "partition", "offset"),
    CheckConstraint("status IN ('open', 'redriven', 'discarded')", name="status"),
    Index(None, "consumer", "record_key", "status"),
    Index(None, "status", "first_failed_at", "dead_letter_id"),
    Index(None, "map_name", "first_failed_at"),
    Index(None, "error_class", "first_failed_at"),
    Index(None, "company", "first_failed_at"),
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
    # Migration 0005: who paused it and why (`ops` or `alert`), ops' note, who changed it last,
    # and when it was last resumed (the alert window starts there, so a resume does not re-pause).
    Column("paused_by", Text),
    Column("paused_reason", Text),
    Column("note", Text),
    Column("changed_by", Text),
    Column("resumed_at", DateTime(timezone=True)),
    CheckConstraint(
        "paused_reason IS NULL OR paused_reason IN ('ops', 'alert')", name="paused_reason"
    ),
)
"""Whether a map is paused, by whom and why (a map without a row runs)."""

ops_actions = Table(
    "ops_actions",
    metadata,
    Column("action_id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target_kind", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("reason", Text),
    Column("outcome", Text),
    CheckConstraint("action IN ('redrive', 'discard', 'pause', 'resume')", name="action"),
    CheckConstraint("target_kind IN ('dead_letter', 'map')", name="target_kind"),
    Index(None, "target_kind", "target", "at"),
    Index(None, "at"),
)
"""Every redrive, discard, pause and resume: who, when, on what, why and what came of it."""
