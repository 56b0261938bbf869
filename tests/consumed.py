"""Whether a consumer group has caught up: how tests wait for "nothing more will happen"."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from sync_service.settings import Settings


async def partitions_of(settings: Settings, topic: str) -> list[TopicPartition]:
    """The partitions of `topic` (a logical name), asked of the broker; none if it is missing.

    Asked rather than read from a consumer's metadata, which may not list the topic yet.
    """
    physical = settings.topic(topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([physical])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        return []
    return [TopicPartition(physical, p["partition"]) for p in described["partitions"]]


async def all_consumed(settings: Settings, group: str, topic: str) -> bool:
    """Whether `group` has committed every record of `topic` (logical names, prefixed here).

    A test that must show something did not happen (a second delivery, a record applied twice)
    waits for this instead of sleeping: once the committed offsets reach the end, the consumer
    has nothing left to deliver. A topic that does not exist yet is not consumed.
    """
    partitions = await partitions_of(settings, topic)
    if not partitions:
        return False
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(settings.group(group))
        ends = await consumer.end_offsets(partitions)
        return all(tp in committed and committed[tp].offset >= end for tp, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()
