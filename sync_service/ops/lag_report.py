"""The shape of one lag sample, as `GET /ops/lag` and `dualsync lag --json` give it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

__all__ = ["GroupLag", "LagReport", "MapLag", "PartitionLag", "ProjectionLag", "RelayLag"]


class PartitionLag(BaseModel):
    """One consumer group on one partition: how far its committed offset is from the end."""

    group: str
    topic: str
    partition: int
    committed: int
    """Where the group resumes: its committed offset, or the first record there is if it never
    committed (or committed before records that retention deleted)."""
    end: int
    lag: int
    """end - committed, never below zero."""
    stuck: bool
    """Records wait, and the committed offset has not moved for `stuck_after_s`."""
    unchanged_for_s: float


class GroupLag(BaseModel):
    """A consumer group's lag on one topic, summed over its partitions."""

    group: str
    topic: str
    lag: int
    stuck_partitions: int


class RelayLag(BaseModel):
    """The outbox relay: the event store's newest position against the last one published."""

    store_position: int
    published_position: int
    lag: int
    since_last_published_s: float | None


class MapLag(BaseModel):
    """One map in one direction: the records of its type that wait, and the oldest one's age."""

    name: str
    direction: Literal["outbound", "inbound"]
    paused: bool
    pending: int
    pending_capped: bool
    """Only part of the waiting records were read: `pending` is a lower bound."""
    oldest_pending_age_s: float | None
    since_last_applied_s: float | None


class ProjectionLag(BaseModel):
    """One projection (read model): the records it has not applied yet."""

    name: str
    pending: int
    pending_capped: bool
    oldest_pending_age_s: float | None
    since_last_applied_s: float | None


class LagReport(BaseModel):
    """Everything ops read about lag at one moment."""

    sampled_at: datetime
    stuck_after_s: float
    partitions: list[PartitionLag]
    groups: list[GroupLag]
    relay: RelayLag
    maps: list[MapLag]
    projections: list[ProjectionLag]
