"""Which map a dead letter belongs to, so ops can filter, count and alert per map.

The failing handler names the map when a map failed (`MappingFailed.map_name`,
`UnknownReference.handler`); a part of a map (`SalesOrderLines`) or a record that failed before
any map ran (a payload that does not validate) is placed by its envelope's type, routed the way
the worker that consumed it routes types. A record whose type cannot be read belongs to no map.
"""

from __future__ import annotations

from sync_service.mappings import MAPS

__all__ = ["map_of_dead_letter"]


def map_of_dead_letter(consumer: str, handler: str, original_value: str | bytes) -> str | None:
    """The map of a dead letter (one of MAPS), or None when it cannot be told."""
    if handler in MAPS:
        return handler
    # Imported here: the workers import the fault policy, which calls this.
    from sync_service.mappings.faults import SourceRecord, envelope_field
    from sync_service.mappings.inbound import INBOUND_GROUP, INBOUND_MAPS
    from sync_service.mappings.outbound import OUTBOUND_GROUP, OutboundWorker

    value = original_value.encode() if isinstance(original_value, str) else original_value
    message_type = envelope_field(SourceRecord("", 0, 0, "", value), "type")
    if message_type is None:
        return None
    outbound = OutboundWorker.map_name(message_type)
    inbound = INBOUND_MAPS.get(message_type)
    if consumer == OUTBOUND_GROUP:
        return outbound
    if consumer == INBOUND_GROUP:
        return inbound
    return outbound or inbound
