"""The contract's topics: created (by the admin principal) with the partition count dualsync
expects, and checked by the services that use them (which may not create topics)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from contracts.topics import ALL_TOPICS
from sync_service.kafka_access import Role, admin_client
from sync_service.settings import Settings

__all__ = ["TopicsMissing", "ensure_topics", "require_topics"]


class TopicsMissing(RuntimeError):
    """A service's topics do not exist (or its principal may not see them)."""


async def ensure_topics(
    settings: Settings, names: Iterable[str] = ALL_TOPICS, *, partitions: int = 3
) -> list[str]:
    """Create the (prefixed) topics that do not exist yet, as admin; return the names created."""
    wanted = [settings.topic(name) for name in names]
    admin = admin_client(settings, "admin", "dualsync-topics-admin")
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


async def require_topics(settings: Settings, role: Role, names: Iterable[str]) -> None:
    """Raise TopicsMissing unless `role` sees every one of the (prefixed) topics `names`.

    A principal lists only the topics it may describe: a missing ACL looks like a missing topic,
    and the message says both.
    """
    admin = admin_client(settings, role, f"dualsync-topics-{role}")
    await admin.start()
    try:
        seen = set(await admin.list_topics())
    finally:
        await admin.close()
    missing = [settings.topic(name) for name in names if settings.topic(name) not in seen]
    if missing:
        raise TopicsMissing(
            f"Kafka topics {', '.join(missing)} do not exist or the {role!r} principal may not "
            "describe them: run `dualsync topics create` (it creates the topics and applies the "
            "ACLs as the admin principal)"
        )
