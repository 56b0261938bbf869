"""Creating the contract's topics with the partition count dualsync expects."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from contracts.topics import ALL_TOPICS
from sync_service.settings import Settings

__all__ = ["ensure_topics"]


async def ensure_topics(
    settings: Settings, names: Iterable[str] = ALL_TOPICS, *, partitions: int = 3
) -> list[str]:
    """Create the (prefixed) topics that do not exist yet; return the names created."""
    wanted = [settings.topic(name) for name in names]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if missing:
            new_topics = [NewTopic(name, partitions, replication_factor=1) for name in missing]
            # Another process may create them between our list and create: same outcome.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new_topics)
        return missing
    finally:
        await admin.close()
