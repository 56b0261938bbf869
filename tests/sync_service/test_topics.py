"""`dualsync topics create` makes the contract's topics once, with 3 partitions, as the admin;
a service then finds its own topics (through its principal's ACLs) or says how to make them."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from contracts.topics import ALL_TOPICS, CDS_EVENTS, PORTAL_COMMANDS
from sync_service.kafka_acls import apply_acls
from sync_service.settings import Settings
from sync_service.topics import TopicsMissing, ensure_topics, require_topics
from tests.kafka_roles import as_role

pytestmark = pytest.mark.integration


async def test_creates_missing_topics_once(kafka_bootstrap: str, topic_prefix: str) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix)

    first = await ensure_topics(settings)
    second = await ensure_topics(settings)

    assert sorted(first) == sorted(f"{topic_prefix}{name}" for name in ALL_TOPICS)
    assert second == []
    admin = AIOKafkaAdminClient(**as_role(settings, "admin"))
    await admin.start()
    try:
        described = await admin.describe_topics(first)
    finally:
        await admin.close()
    assert {len(topic["partitions"]) for topic in described} == {3}


async def test_a_service_finds_its_topics_only_once_they_and_its_acls_exist(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix)
    with pytest.raises(TopicsMissing, match="dualsync topics create"):
        await require_topics(settings, "command-processor", [PORTAL_COMMANDS])

    await ensure_topics(settings)
    with pytest.raises(TopicsMissing, match=f"{topic_prefix}{PORTAL_COMMANDS}"):
        await require_topics(settings, "command-processor", [PORTAL_COMMANDS])  # no ACL yet
    await apply_acls(settings)

    await require_topics(settings, "command-processor", [PORTAL_COMMANDS])
    with pytest.raises(TopicsMissing, match=f"{topic_prefix}{CDS_EVENTS}"):
        await require_topics(settings, "command-processor", [CDS_EVENTS])  # not its topic
