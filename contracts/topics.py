"""Kafka topic names of the wire contract (SPEC §4)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALL_TOPICS",
    "CDS_EVENTS",
    "DEADLETTER",
    "PORTAL_COMMANDS",
    "SCM_CONTACTS",
    "SCM_CUSTOMERS",
    "SCM_INBOUND",
    "SCM_SALESORDERS",
]

PORTAL_COMMANDS: Final = "portal.commands.v1"
CDS_EVENTS: Final = "cds.events.v1"
SCM_SALESORDERS: Final = "scm.salesorders.v1"
SCM_CONTACTS: Final = "scm.contacts.v1"
SCM_CUSTOMERS: Final = "scm.customers.v1"
SCM_INBOUND: Final = "scm.inbound.v1"
DEADLETTER: Final = "dualsync.deadletter.v1"

ALL_TOPICS: Final[tuple[str, ...]] = (
    PORTAL_COMMANDS,
    CDS_EVENTS,
    SCM_SALESORDERS,
    SCM_CONTACTS,
    SCM_CUSTOMERS,
    SCM_INBOUND,
    DEADLETTER,
)
