"""Kafka clients of the tests, each authenticated as the dualsync role it stands in for.

A test's worker runs as that worker's principal, a record a test forges is written as the
principal that would write it (a command as "api", an ERP record as "erp"), and setup or
inspection that no role may do is done as "admin": so the tests prove each role's ACLs suffice.
"""

from __future__ import annotations

from typing import Any, Final

from faststream.kafka import KafkaBroker

from contracts.topics import (
    CDS_EVENTS,
    DEADLETTER,
    PORTAL_COMMANDS,
    SCM_CONTACTS,
    SCM_CUSTOMERS,
    SCM_INBOUND,
    SCM_SALESORDERS,
)
from sync_service.kafka_access import Role, broker_security, client_options
from sync_service.settings import Settings

__all__ = ["as_role", "role_broker", "writer_of"]

_WRITERS: Final[dict[str, Role]] = {
    PORTAL_COMMANDS: "api",
    CDS_EVENTS: "relay",
    SCM_SALESORDERS: "outbound",
    SCM_CONTACTS: "outbound",
    SCM_CUSTOMERS: "outbound",
    SCM_INBOUND: "erp",
    DEADLETTER: "inbound",
}


def writer_of(topic: str) -> Role:
    """The role that writes `topic` (a contract name) in a deployment: a test's record put
    there stands in for one of its records."""
    return _WRITERS[topic]


def as_role(settings: Settings, role: Role) -> dict[str, Any]:
    """aiokafka keyword arguments: `settings`' bootstrap servers and `role`'s credentials."""
    return {"bootstrap_servers": settings.kafka_bootstrap, **client_options(settings, role)}


def role_broker(settings: Settings, role: Role, **options: Any) -> KafkaBroker:
    """A quiet FastStream broker on `settings`' Kafka, authenticated as `role`."""
    options.setdefault("logger", None)
    return KafkaBroker(
        settings.kafka_bootstrap, security=broker_security(settings, role), **options
    )
