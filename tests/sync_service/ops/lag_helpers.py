"""Helpers of the lag tests: poll samples until a condition holds, pick rows, commit offsets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from sync_service.ops.lag import LagSampler
from sync_service.ops.lag_report import LagReport, MapLag, PartitionLag
from sync_service.settings import Settings
from tests.kafka_roles import as_role

__all__ = ["commit", "group_lag", "map_row", "rows", "until"]


async def until(
    sampler: LagSampler, holds: Callable[[LagReport], bool], *, timeout_s: float = 30.0
) -> LagReport:
    """Sample until `holds(report)`; fail with the last report after `timeout_s`."""
    report = await sampler.sample()
    try:
        async with asyncio.timeout(timeout_s):
            while not holds(report):
                await asyncio.sleep(0.3)
                report = await sampler.sample()
    except TimeoutError:
        raise AssertionError(f"lag never reached the expected state: {report}") from None
    return report


def rows(report: LagReport, group: str) -> list[PartitionLag]:
    """The partition rows of `group`."""
    return [row for row in report.partitions if row.group == group]


def group_lag(report: LagReport, group: str) -> int:
    """The summed lag of `group` (0 when the group has no row)."""
    return sum(g.lag for g in report.groups if g.group == group)


def map_row(report: LagReport, name: str, direction: str) -> MapLag:
    """The row of one map in one direction."""
    return next(m for m in report.maps if m.name == name and m.direction == direction)


async def commit(settings: Settings, group: str, topic: str, offsets: dict[int, int]) -> None:
    """Commit `offsets` (partition -> offset) for `group` on the (prefixed) `topic`."""
    consumer = AIOKafkaConsumer(
        **as_role(settings, "admin"),  # setup: the offsets a worker would have committed
        group_id=settings.group(group),
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        tps = {TopicPartition(settings.topic(topic), p): o for p, o in offsets.items()}
        consumer.assign(list(tps))
        await consumer.commit(tps)
    finally:
        await consumer.stop()
