"""Sync lag: how far each consumer group, map, projection and the relay are behind.

Offsets come from Kafka (the groups' committed offsets against the partitions' end offsets);
whether a partition is stuck needs memory across samples, kept in `committed_offsets_seen`.
Per map, the records waiting after the committed offset are read (a bounded number per
partition) and told apart by message type, the way the workers route them, so a paused map
shows its own backlog even where several maps share a topic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from aiokafka import TopicPartition
from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import CDS_EVENTS, PORTAL_COMMANDS, SCM_INBOUND
from sync_service.command_processor import CONSUMER_GROUP as COMMAND_GROUP
from sync_service.db.schema import checkpoints, events
from sync_service.kafka_access import Role, client_options
from sync_service.logs import get_logger
from sync_service.mappings.inbound import INBOUND_GROUP, INBOUND_MAPS
from sync_service.mappings.outbound import OUTBOUND_GROUP, ROUTES, OutboundWorker
from sync_service.mappings.pausing import states
from sync_service.ops.lag_kafka import KafkaOffsets
from sync_service.ops.lag_metrics import publish_gauges
from sync_service.ops.lag_report import (
    GroupLag,
    LagReport,
    MapLag,
    PartitionLag,
    ProjectionLag,
    RelayLag,
)
from sync_service.ops.lag_tables import committed_offsets_seen, maps_applied
from sync_service.projections.projector import ORDERS_PROJECTION
from sync_service.projections.tables import projection_checkpoints
from sync_service.projections.worker import CONSUMER_GROUP as PROJECTIONS_GROUP
from sync_service.relay.outbox import RELAY_CHECKPOINT
from sync_service.settings import Settings

__all__ = ["PENDING_READ_CAP", "WATCHED", "LagSampler", "Watched", "sampling_in_background"]

PENDING_READ_CAP: Final = 2000
"""At most this many waiting records are read per partition to count a map's backlog."""

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Watched:
    """A consumer group of dualsync and the (contract) topic it consumes."""

    group: str
    topic: str


WATCHED: Final = (
    Watched(COMMAND_GROUP, PORTAL_COMMANDS),
    Watched(PROJECTIONS_GROUP, CDS_EVENTS),
    Watched(OUTBOUND_GROUP, CDS_EVENTS),
    Watched(INBOUND_GROUP, SCM_INBOUND),
)
_OUTBOUND_MAPS: Final = tuple(dict.fromkeys(route.entity.name for route in ROUTES.values()))
_INBOUND_MAPS: Final = tuple(dict.fromkeys(INBOUND_MAPS.values()))


@dataclass(frozen=True, slots=True)
class _Backlog:
    pending: int
    capped: bool
    oldest_ms: int | None


class LagSampler:
    """Takes lag samples for one deployment (its settings' topics, its database)."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        *,
        read_cap: int = PENDING_READ_CAP,
        watched: Sequence[Watched] = WATCHED,
        role: Role = "ops",
    ) -> None:
        # "ops" may see the workers' groups in WATCHED; a sampler watching more (the crash
        # test's, which watches the ERP's group too) reads as "operator".
        self._settings = settings
        self._watched = tuple(watched)
        self._engine = engine
        self._kafka = KafkaOffsets(
            settings.kafka_bootstrap, security=client_options(settings, role)
        )
        self._read_cap = read_cap
        self._lock = asyncio.Lock()
        self.latest: LagReport | None = None
        """The newest sample taken, if any."""

    async def close(self) -> None:
        """Disconnect from Kafka."""
        async with self._lock:
            await self._kafka.close()

    async def sample(self) -> LagReport:
        """Take one sample, remember it, and set the Prometheus gauges from it."""
        async with self._lock:  # one Kafka consumer reads waiting records: one sample at a time
            try:
                report = await self._sample()
            except BaseException:
                await self._kafka.close()  # reconnect next time, after a broker outage say
                raise
        self.latest = report
        publish_gauges(report)
        return report

    async def _sample(self) -> LagReport:
        await self._kafka.start()
        now = datetime.now(UTC)
        topics = {w.topic: self._settings.topic(w.topic) for w in self._watched}
        partitions = await self._kafka.partitions(sorted(set(topics.values())))
        tps = [TopicPartition(t, p) for t, ps in partitions.items() for p in ps]
        beginning, end = await self._kafka.bounds(tps) if tps else ({}, {})
        offsets: dict[tuple[str, TopicPartition], tuple[int, int]] = {}
        for watched in self._watched:
            topic = topics[watched.topic]
            own = [TopicPartition(topic, p) for p in partitions.get(topic, [])]
            committed = (
                await self._kafka.committed(self._settings.group(watched.group), own) if own else {}
            )
            for tp in own:
                # No commit, or one before records that retention deleted: the group resumes
                # at the first record there is (auto_offset_reset=earliest), so count from it.
                offset = max(committed.get(tp.partition, beginning[tp]), beginning[tp])
                offsets[(watched.group, tp)] = (offset, end[tp])
        unchanged = await self._remember(offsets)
        stuck_after = self._settings.lag_stuck_after_s
        rows = [
            PartitionLag(
                group=group, topic=tp.topic, partition=tp.partition, committed=committed,
                end=last, lag=max(0, last - committed),
                stuck=last > committed and unchanged[(group, tp)] >= stuck_after,
                unchanged_for_s=round(unchanged[(group, tp)], 3),
            )
            for (group, tp), (committed, last) in offsets.items()
        ]  # fmt: skip
        return LagReport(
            sampled_at=now,
            stuck_after_s=stuck_after,
            partitions=rows,
            groups=_groups(rows),
            relay=await self._relay(now),
            maps=await self._maps(offsets, now),
            projections=await self._projections(offsets, now),
        )

    async def _remember(
        self, offsets: Mapping[tuple[str, TopicPartition], tuple[int, int]]
    ) -> dict[tuple[str, TopicPartition], float]:
        """Upsert each committed offset; seconds since each one last changed."""
        if not offsets:
            return {}
        seen = committed_offsets_seen.c
        statement = insert(committed_offsets_seen).values(
            [
                {
                    "group_id": group, "topic": tp.topic, "partition": tp.partition,
                    "committed": committed, "unchanged_since": func.now(),
                    "sampled_at": func.now(),
                }
                for (group, tp), (committed, _) in offsets.items()
            ]
        )  # fmt: skip
        moved = seen.committed != statement.excluded.committed
        upsert = statement.on_conflict_do_update(
            index_elements=[seen.group_id, seen.topic, seen.partition],
            set_={
                "committed": statement.excluded.committed,
                "unchanged_since": case((moved, func.now()), else_=seen.unchanged_since),
                "sampled_at": func.now(),
            },
        ).returning(
            seen.group_id,
            seen.topic,
            seen.partition,
            func.extract("epoch", func.now() - seen.unchanged_since),
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(upsert)
            return {(row[0], TopicPartition(row[1], row[2])): float(row[3]) for row in result.all()}

    async def _relay(self, now: datetime) -> RelayLag:
        async with self._engine.connect() as connection:
            head = await connection.scalar(select(func.coalesce(func.max(events.c.position), 0)))
            checkpoint = (
                await connection.execute(
                    select(checkpoints.c.position, checkpoints.c.updated_at).where(
                        checkpoints.c.name == RELAY_CHECKPOINT
                    )
                )
            ).first()
        published = int(checkpoint.position) if checkpoint else 0
        return RelayLag(
            store_position=int(head or 0),
            published_position=published,
            lag=max(0, int(head or 0) - published),
            since_last_published_s=_since(now, checkpoint.updated_at if checkpoint else None),
        )

    async def _maps(
        self, offsets: Mapping[tuple[str, TopicPartition], tuple[int, int]], now: datetime
    ) -> list[MapLag]:
        outbound = await self._backlogs(
            offsets, OUTBOUND_GROUP, lambda t: OutboundWorker.map_name(t) if t else None
        )
        inbound = await self._backlogs(
            offsets, INBOUND_GROUP, lambda t: INBOUND_MAPS.get(t) if t else None
        )
        async with self._engine.connect() as connection:
            applied = {
                (row.map, row.direction): row.last_applied_at
                for row in await connection.execute(select(maps_applied))
            }
        paused = await states(self._engine, sorted({*_OUTBOUND_MAPS, *_INBOUND_MAPS}))
        found: list[MapLag] = []
        for direction, names, backlogs in (
            ("outbound", _OUTBOUND_MAPS, outbound),
            ("inbound", _INBOUND_MAPS, inbound),
        ):
            for name in names:
                backlog = backlogs.get(name) or _Backlog(0, backlogs[None].capped, None)
                found.append(
                    MapLag(
                        name=name, direction=direction,
                        paused=paused[name], pending=backlog.pending,
                        pending_capped=backlog.capped,
                        oldest_pending_age_s=_age(now, backlog.oldest_ms),
                        since_last_applied_s=_since(now, applied.get((name, direction))),
                    )
                )  # fmt: skip
        return found

    async def _projections(
        self, offsets: Mapping[tuple[str, TopicPartition], tuple[int, int]], now: datetime
    ) -> list[ProjectionLag]:
        # Every record of the topic is the projection's: the count is the lag, and only the
        # first waiting record of each partition needs reading for the oldest one's age.
        pending, oldest_ms = 0, None
        for (group, tp), (committed, last) in offsets.items():
            if group != PROJECTIONS_GROUP or last <= committed:
                continue
            pending += last - committed
            first = await self._kafka.waiting(tp, committed, last, 1)
            oldest_ms = _earliest(oldest_ms, [r.timestamp_ms for r in first.records])
        async with self._engine.connect() as connection:
            applied_at = await connection.scalar(
                select(projection_checkpoints.c.applied_at).where(
                    projection_checkpoints.c.name == ORDERS_PROJECTION
                )
            )
        return [
            ProjectionLag(
                name=ORDERS_PROJECTION,
                pending=pending,
                pending_capped=False,
                oldest_pending_age_s=_age(now, oldest_ms),
                since_last_applied_s=_since(now, applied_at),
            )
        ]

    async def _backlogs(
        self,
        offsets: Mapping[tuple[str, TopicPartition], tuple[int, int]],
        group: str,
        map_of: Callable[[str | None], str | None],
    ) -> dict[str | None, _Backlog]:
        """Map name -> its waiting records for `group`; the None entry says if any read capped."""
        counts: dict[str | None, int] = {}
        oldest: dict[str | None, int | None] = {}
        capped = False
        for (owner, tp), (committed, last) in offsets.items():
            if owner != group or last <= committed:
                continue
            read = await self._kafka.waiting(tp, committed, last, self._read_cap)
            capped = capped or read.capped
            for record in read.records:
                name = map_of(record.type)
                counts[name] = counts.get(name, 0) + 1
                oldest[name] = _earliest(oldest.get(name), [record.timestamp_ms])
        found = {name: _Backlog(count, capped, oldest[name]) for name, count in counts.items()}
        found[None] = _Backlog(counts.get(None, 0), capped, oldest.get(None))
        return found


@contextlib.asynccontextmanager
async def sampling_in_background(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[LagSampler]:
    """A sampler that also samples every `lag_sample_s` (so /metrics is current) until exit."""
    sampler = LagSampler(settings, engine)
    task = asyncio.create_task(_sample_every(sampler, settings.lag_sample_s))
    try:
        yield sampler
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sampler.close()


async def _sample_every(sampler: LagSampler, every_s: float) -> None:
    while True:
        # Waits first: a process that lives a few seconds (a test, a failed start) never samples.
        await asyncio.sleep(every_s)
        try:
            await sampler.sample()
        except Exception as error:  # Kafka or PostgreSQL away: the next round tries again
            log.warning("lag.sample_failed", error=f"{type(error).__name__}: {error}")


def _groups(rows: Sequence[PartitionLag]) -> list[GroupLag]:
    totals: dict[tuple[str, str], GroupLag] = {}
    for row in rows:
        total = totals.get((row.group, row.topic)) or GroupLag(
            group=row.group, topic=row.topic, lag=0, stuck_partitions=0
        )
        total.lag += row.lag
        total.stuck_partitions += int(row.stuck)
        totals[(row.group, row.topic)] = total
    return list(totals.values())


def _earliest(current: int | None, timestamps: Sequence[int]) -> int | None:
    candidates = [t for t in (current, *timestamps) if t is not None and t >= 0]
    return min(candidates) if candidates else None


def _age(now: datetime, timestamp_ms: int | None) -> float | None:
    if timestamp_ms is None:
        return None
    return round(max(0.0, now.timestamp() - timestamp_ms / 1000), 3)


def _since(now: datetime, then: datetime | None) -> float | None:
    if then is None:
        return None
    return round(max(0.0, (now - then).total_seconds()), 3)
