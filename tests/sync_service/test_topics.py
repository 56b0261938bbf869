"""`dualsync topics create` makes the contract's topics once, with 3 partitions."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from contracts.topics import ALL_TOPICS
from sync_service.settings import Settings
from sync_service.topics import ensure_topics

pytestmark = pytest.mark.integration


async def test_creates_missing_topics_once(kafka_bootstrap: str, topic_prefix: str) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix)

    first = await ensure_topics(settings)
    second = await ensure_topics(settings)

    assert sorted(first) == sorted(f"{topic_prefix}{name}" for name in ALL_TOPICS)
    assert second == []
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(first)
    finally:
        await admin.close()
    assert {len(topic["partitions"]) for topic in described} == {3}
