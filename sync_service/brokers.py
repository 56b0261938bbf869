"""The FastStream Kafka broker a dualsync service consumes and publishes through."""

from __future__ import annotations

from typing import Any, Final

from faststream.kafka import KafkaBroker, Topic

from sync_service.kafka_access import Role, broker_security
from sync_service.logs import faststream_logger
from sync_service.settings import Settings

__all__ = ["STOP_GRACE_S", "existing_topic", "service_broker"]

STOP_GRACE_S: Final = 5.0
"""How long a stopping service lets a batch in hand finish (applied, offsets committed).

A batch still running after that is abandoned: its transaction rolls back, its offsets stay
uncommitted and it is read again after a restart. With the consumer leaving its group and the
connections closing, a stop stays within the 10 s a supervisor grants (SIGTERM, then SIGKILL).
"""


def existing_topic(name: str) -> Topic:
    """A topic to subscribe to that FastStream must not try to create: `dualsync topics create`
    makes them (as admin, with their partition count); no service's principal may."""
    return Topic(name, declare=False)


def service_broker(settings: Settings, role: Role, **options: Any) -> KafkaBroker:
    """A broker on `settings`' Kafka, authenticated as `role`, that logs through our renderer
    and stops gracefully."""
    return KafkaBroker(
        settings.kafka_bootstrap,
        security=broker_security(settings, role),
        logger=faststream_logger(),
        graceful_timeout=STOP_GRACE_S,
        **options,
    )
