"""Waiting for a consumer group to have consumed a topic to its end, without a fixed sleep.

A test that proves an absence (nothing applied, nothing sent) waits until the group's committed
offsets reach the end offsets of every partition: everything before was handled and committed.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from sync_service.settings import Settings
from tests.kafka_roles import as_role

__all__ = ["all_consumed", "until_consumed"]


async def all_consumed(settings: Settings, topic: str, group: str) -> bool:
    """Whether `group` has committed every record of `topic` (contract names, unprefixed)."""
    physical = settings.topic(topic)
    admin = AIOKafkaAdminClient(**as_role(settings, "operator"))
    # Named at construction, so that its metadata (the partitions) is loaded at start; the
    # consumer joins no group and reads nothing.
    consumer = AIOKafkaConsumer(physical, **as_role(settings, "operator"))
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(settings.group(group))
        partitions = [
            TopicPartition(physical, p) for p in consumer.partitions_for_topic(physical) or ()
        ]
        ends = await consumer.end_offsets(partitions)
        # No partitions known is not "consumed": an empty `all()` would prove nothing.
        return bool(ends) and all(
            tp in committed and committed[tp].offset >= end for tp, end in ends.items()
        )
    finally:
        await consumer.stop()
        await admin.close()


async def until_consumed(
    settings: Settings, topic: str, group: str, *, timeout_s: float = 60.0
) -> None:
    """Return once `group` has consumed `topic` to its end; fail after `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while True:
            if await all_consumed(settings, topic, group):
                return
            await asyncio.sleep(0.2)
