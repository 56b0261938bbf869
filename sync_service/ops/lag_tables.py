"""The lag sampler's tables (migration 0006): committed offsets seen, and maps' last apply."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, PrimaryKeyConstraint, Table, Text

from sync_service.db.schema import metadata

__all__ = ["committed_offsets_seen", "maps_applied"]

committed_offsets_seen = Table(
    "committed_offsets_seen",
    metadata,
    Column("group_id", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("committed", BigInteger, nullable=False),
    # When `committed` last changed: a partition that waits with lag for long is stuck.
    Column("unchanged_since", DateTime(timezone=True), nullable=False),
    Column("sampled_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("group_id", "topic", "partition"),
)
"""Each sample's committed offset per group and partition, and since when it has not moved."""

maps_applied = Table(
    "maps_applied",
    metadata,
    Column("map", Text, nullable=False),
    Column("direction", Text, nullable=False),
    Column("last_applied_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("map", "direction"),
)
"""When a mapping worker last applied a record of a map (flushed at most once a second)."""
